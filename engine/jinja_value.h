// Value: the dynamic value of the Jinja interpreter, modelled on the Python objects that
// jinja2 manipulates when transformers renders a chat template.
//
// Kinds mirror Python types: Undefined (jinja2's default Undefined), None, bool, int
// (int64; overflow is an error instead of a bignum), float, str (UTF-8), list/tuple, dict
// (insertion ordered, like Python 3.7+), plus the runtime objects namespace(), the `loop`
// object and callables (globals, bound methods, macros).
//
// Immutability: strings, lists and dicts are shared and never mutated once built
// (ImmutableSandboxedEnvironment forbids list.append & co), so copying a Value is O(1).
// Namespaces are the only mutable objects. Values live for one render on one thread;
// immutable payloads may be shared across threads (the parsed template's constants).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"

namespace trimserve::jinja {

class Value;
struct ListData;
struct DictData;
struct LoopInfo;
struct Callable;
struct Scope;      // jinja_runtime.h
struct MacroStmt;  // jinja_ast.h

// Python sequence flavours that the template can observe: list, tuple, the lazy results of
// jinja2 filters such as map/select/items (generators: always truthy, no len(), not
// subscriptable, not JSON serializable) and dict views from .keys()/.values()/.items().
enum class Seq : uint8_t { kList, kTuple, kGenerator, kDictKeys, kDictValues, kDictItems };

enum class Kind : uint8_t {
  kUndefined,
  kNone,
  kBool,
  kInt,
  kFloat,
  kString,
  kList,  // list, tuple, generator or dict view (ListData::seq)
  kDict,
  kNamespace,
  kLoop,
  kCallable,
};

class Value {
 public:
  Value() : v_(UndefinedTag{}) {}  // Undefined without a hint

  // Undefined that remembers why it is undefined ("'x' is undefined") for the error raised
  // when it is used in an operation that jinja2's Undefined refuses.
  static Value undefined(std::string hint);
  static Value none() { return Value(Payload(NoneTag{})); }
  static Value boolean(bool b) { return Value(Payload(b)); }
  static Value integer(int64_t i) { return Value(Payload(i)); }
  static Value real(double d) { return Value(Payload(d)); }
  static Value string(std::string s);
  static Value list(std::vector<Value> items, bool is_tuple = false);
  static Value sequence(std::vector<Value> items, Seq seq);
  static Value failed_generator(Status error);
  // Takes ownership of a freshly built dict (computes its nesting depth, then freezes it).
  static Value dict(std::shared_ptr<DictData> d);
  static Value new_namespace(std::shared_ptr<DictData> d);
  static Value loop(std::shared_ptr<const LoopInfo> l);
  static Value callable(std::shared_ptr<const Callable> c);

  Kind kind() const { return static_cast<Kind>(v_.index()); }
  bool is_undefined() const { return kind() == Kind::kUndefined; }
  bool is_none() const { return kind() == Kind::kNone; }
  bool is_string() const { return kind() == Kind::kString; }
  bool is_list() const { return kind() == Kind::kList; }
  bool is_dict() const { return kind() == Kind::kDict; }
  // int, float or bool (Python's numbers.Number includes bool).
  bool is_number() const { return kind() == Kind::kInt || kind() == Kind::kFloat || kind() == Kind::kBool; }
  bool is_integral() const { return kind() == Kind::kInt || kind() == Kind::kBool; }

  // Accessors; precondition: the matching kind.
  bool as_bool() const { return std::get<bool>(v_); }
  int64_t as_int() const { return kind() == Kind::kBool ? std::get<bool>(v_) : std::get<int64_t>(v_); }
  double as_double() const;  // int, bool or float
  const std::string& as_string() const { return *std::get<StrPtr>(v_); }
  const std::shared_ptr<const std::string>& string_ptr() const { return std::get<StrPtr>(v_); }
  const ListData& as_list_data() const { return *std::get<ListPtr>(v_); }
  const std::vector<Value>& as_list() const;
  const std::shared_ptr<const ListData>& list_ptr() const { return std::get<ListPtr>(v_); }
  const DictData& as_dict() const { return *std::get<DictPtr>(v_); }
  DictData& as_namespace() const { return *std::get<NamespacePtr>(v_); }
  const std::shared_ptr<DictData>& namespace_ptr() const { return std::get<NamespacePtr>(v_); }
  const LoopInfo& as_loop() const { return *std::get<LoopPtr>(v_); }
  const Callable& as_callable() const { return *std::get<CallablePtr>(v_); }
  // The hint of an Undefined ("" when none was recorded).
  const std::string& undefined_hint() const;

  // Container nesting depth: 0 for scalars and objects, 1 + max child depth for lists and
  // dicts. The evaluator caps it so that printing, comparing and destroying values cannot
  // recurse deeply enough to exhaust the stack.
  int nesting() const;

  // Identity of the shared payload (for `is sameas` on containers and objects).
  const void* identity() const;

 private:
  struct UndefinedTag {
    std::shared_ptr<const std::string> hint;
  };
  struct NoneTag {};
  using StrPtr = std::shared_ptr<const std::string>;
  using ListPtr = std::shared_ptr<const ListData>;
  using DictPtr = std::shared_ptr<const DictData>;
  using NamespacePtr = std::shared_ptr<DictData>;
  using LoopPtr = std::shared_ptr<const LoopInfo>;
  using CallablePtr = std::shared_ptr<const Callable>;
  // Order matches Kind.
  using Payload = std::variant<UndefinedTag, NoneTag, bool, int64_t, double, StrPtr, ListPtr,
                               DictPtr, NamespacePtr, LoopPtr, CallablePtr>;
  explicit Value(Payload p) : v_(std::move(p)) {}
  Payload v_;
};

struct ListData {
  std::vector<Value> items;
  Seq seq = Seq::kList;
  int depth = 1;
  // A generator whose evaluation failed: Python would only raise when it is consumed, so
  // the error waits until the sequence is iterated (see iterate()).
  Status deferred_error;

  bool is_tuple() const { return seq == Seq::kTuple; }
  // A real list or tuple: indexable, sliceable, has len(), JSON serializable.
  bool is_plain() const { return seq == Seq::kList || seq == Seq::kTuple; }
};

// Insertion-ordered mapping. Lookups are linear: chat-template dicts are small (messages,
// tool schemas), and ordering must follow the input exactly for tojson to match Python.
struct DictData {
  std::vector<std::pair<Value, Value>> items;
  int depth = 1;  // set by Value::dict; unused for namespaces

  // Python key equality (1 == 1.0 == True). Returns nullptr when absent.
  const Value* find(const Value& key) const;
  const Value* find(std::string_view key) const;
  // Inserts or replaces, keeping the first insertion position (Python semantics).
  void set(Value key, Value value);
};

// State of one `for` loop, read through the `loop` variable.
struct LoopInfo {
  std::shared_ptr<const std::vector<Value>> items;
  int64_t index0 = 0;
  int64_t depth0 = 0;
};

// Something callable from a template: a global function (range, namespace, ...), a method
// bound to a value ('x'.upper), or a macro with the scope it was defined in.
struct Callable {
  enum class Type { kGlobal, kMethod, kMacro };
  Type type = Type::kGlobal;
  std::string name;  // global, method or macro name
  Value self;        // kMethod: the bound object
  const MacroStmt* macro = nullptr;        // kMacro: owned by the parsed template
  mutable std::shared_ptr<Scope> closure;  // kMacro: reset when the render ends, which
                                           // breaks scope -> macro -> scope cycles
};

// Python type name, used in error messages ("str", "list", "NoneType", ...).
const char* type_name(const Value& v);

// Python bool(v).
bool truthy(const Value& v);

// Python `a == b` (deep for containers, numeric across int/float/bool; Undefined equals
// only Undefined).
bool equals(const Value& a, const Value& b);

// Python ordering `a < b` as -1/0/1; TypeError-like Status for unorderable kinds.
Result<int> compare(const Value& a, const Value& b);

// Whether `v` may be a dict key (Python hashable): not lists, dicts, dict_keys/dict_items,
// nor tuples containing those.
bool hashable(const Value& v);

// Converts parsed JSON into a Value; strings must be valid UTF-8. Key order is kept for
// ordered_json and is alphabetical for nlohmann::json (its object map is sorted).
Result<Value> from_json(const nlohmann::ordered_json& j);

}  // namespace trimserve::jinja
