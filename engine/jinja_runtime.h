// Interpreter internals shared by the evaluator and the builtins (filters, tests, methods,
// globals). One RenderState and one Evaluator exist per render() call, on one thread.
#pragma once

#include <ctime>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"
#include "engine/jinja_ast.h"
#include "engine/jinja_template.h"
#include "engine/jinja_value.h"

namespace trimserve::jinja {

// Variables of one scope: the render context, a loop iteration, a macro call or a `with`.
// `if` bodies share their enclosing scope, as in jinja2.
struct Scope {
  std::shared_ptr<Scope> parent;
  std::vector<std::pair<std::string, Value>> vars;

  const Value* find(std::string_view name) const;  // this scope, then parents
  void set(const std::string& name, Value v);     // this scope only
};
using ScopePtr = std::shared_ptr<Scope>;

// Evaluated arguments of a call, filter or test (the filter/test operand excluded).
struct Args {
  std::vector<Value> positional;
  std::vector<std::pair<std::string, Value>> keyword;
};

// Binds `args` to the named parameters in order, Python style (positional first, then
// keywords by name). Missing parameters stay nullopt. Errors on surplus or unknown
// arguments, naming `fn`.
Result<std::vector<std::optional<Value>>> bind_args(std::string_view fn, const Args& args,
                                                   std::initializer_list<std::string_view> params);

// Work accounting and the output sink of one render.
class RenderState {
 public:
  RenderState(const RenderOptions& options, std::string* out);
  ~RenderState();  // clears namespaces and macro closures to break reference cycles

  const RenderLimits& limits() const { return limits_; }
  std::time_t now() const { return now_; }

  // Charges `n` evaluation steps; kResourceExhausted past the limit.
  Status step(uint64_t n = 1);
  // Charges the cost of producing or scanning `bytes` bytes, and rejects single strings
  // longer than max_output_bytes.
  Status charge_bytes(size_t bytes);
  Status count_loop_iteration();

  // Output goes to *out(); macro calls and block sets redirect it temporarily.
  std::string* out() const { return out_; }
  std::string* swap_out(std::string* next) {
    std::string* prev = out_;
    out_ = next;
    return prev;
  }
  Status append(std::string_view text);

  Value make_namespace(std::shared_ptr<DictData> data);
  Value make_macro(const MacroStmt* macro, ScopePtr closure);

  int call_depth = 0;
  // Set once an error message carries its location (or must stay verbatim, as for
  // raise_exception), so that enclosing nodes do not prefix it again.
  bool error_located = false;

 private:
  RenderLimits limits_;
  std::time_t now_;
  std::string* out_;
  uint64_t steps_ = 0;
  uint64_t loop_iterations_ = 0;
  std::vector<std::shared_ptr<DictData>> namespaces_;
  std::vector<std::shared_ptr<const Callable>> macros_;
};

class Evaluator;

// ---- builtins (jinja_filters.cpp, jinja_is_tests.cpp, jinja_methods.cpp) ----

// Applies filter `name`. Errors for unknown filters: "No filter named 'x'".
Result<Value> apply_filter(Evaluator& ev, const std::string& name, const Value& input,
                           const Args& args);
// The sequence filters of jinja_seq_filters.cpp (map, select, sort, join, sum, ...).
bool is_sequence_filter(std::string_view name);
Result<Value> apply_sequence_filter(Evaluator& ev, const std::string& name, const Value& input,
                                    const Args& args);
// Applies test `name` (the `is` operator).
Result<bool> apply_test(Evaluator& ev, const std::string& name, const Value& input,
                        const Args& args);
// Attribute access `obj.name` with jinja2 sandbox semantics: methods of str/dict/list
// become bound callables, dict keys are found next, anything else is Undefined.
Result<Value> get_attr(const Value& obj, const std::string& name);
// getattr without the dict-item fallback (the `attr` filter).
Result<Value> get_attr_only(const Value& obj, const std::string& name);
// Subscript `obj[key]` (key is not a slice).
Result<Value> get_item(const Value& obj, const Value& key);
// Calls a bound method (Callable::Type::kMethod).
Result<Value> call_method(Evaluator& ev, const Callable& c, const Args& args);
// Looks up a global function (range, namespace, dict, raise_exception, strftime_now, ...).
const Value* find_global(std::string_view name);
Result<Value> call_global(Evaluator& ev, const Callable& c, const Args& args);

// Python `fmt % args` (printf-style): a tuple gives positional arguments, a dict named
// ones, anything else is one argument (jinja_printf.cpp).
Result<std::string> py_percent_format(const std::string& fmt, const Value& args);

// Error helpers producing jinja2-like messages.
Status undefined_error(const Value& undefined);
Status type_error(const std::string& what);

// Iterates a value as Python would (list items, dict keys, string characters; Undefined is
// empty). Errors for non-iterables.
Result<std::shared_ptr<const std::vector<Value>>> iterate(const Value& v);

}  // namespace trimserve::jinja
