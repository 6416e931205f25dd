// Sequence filters: map, select, reject, selectattr, rejectattr, unique, items, batch (the
// generator functions of jinja2, see Seq::kGenerator), and sort, dictsort, min, max, join,
// sum. Attribute arguments follow jinja2's make_attrgetter ("a.b", "0").
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "engine/jinja_eval.h"
#include "engine/jinja_format.h"
#include "engine/jinja_result.h"
#include "engine/jinja_utf8.h"


namespace trimserve::jinja {

namespace {

Value arg_or(const std::optional<Value>& v, Value dflt) { return v ? *v : std::move(dflt); }

// jinja2's make_attrgetter: "a.b.0" walks items/attributes; digits index sequences.
Result<Value> get_path(const Value& item, const Value& attribute) {
  if (attribute.is_integral()) return get_item(item, attribute);
  if (!attribute.is_string()) return get_item(item, attribute);
  Value v = item;
  const std::string& path = attribute.as_string();
  size_t start = 0;
  while (true) {
    const size_t dot = path.find('.', start);
    const std::string part = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    const bool digits = !part.empty() && std::all_of(part.begin(), part.end(), ::isdigit);
    if (v.is_undefined()) return undefined_error(v);
    JINJA_TRY(v, get_item(v, digits ? Value::integer(std::atoll(part.c_str())) : Value::string(part)));
    if (dot == std::string::npos) return v;
    start = dot + 1;
  }
}

Value ignore_case(const Value& v, bool case_sensitive) {
  if (!case_sensitive && v.is_string()) return Value::string(py_lower(v.as_string()));
  return v;
}

// Sort key of an item: the optional attribute path, lowercased unless case-sensitive.
Result<Value> sort_key(const Value& item, const std::optional<Value>& attribute, bool case_sensitive) {
  Value v = item;
  if (attribute && !attribute->is_none()) {
    JINJA_TRY(v, get_path(item, *attribute));
  }
  return ignore_case(v, case_sensitive);
}

// Stable sort of items by precomputed keys; comparison errors are reported.
Status sort_by_keys(std::vector<std::pair<Value, Value>>* keyed, bool reverse) {
  Status err;
  std::stable_sort(keyed->begin(), keyed->end(), [&](const auto& a, const auto& b) {
    auto c = reverse ? compare(b.first, a.first) : compare(a.first, b.first);
    if (!c.ok()) {
      if (err.ok()) err = c.status();
      return false;
    }
    return *c < 0;
  });
  return err;
}

// select/reject/selectattr/rejectattr.
Result<Value> do_select(Evaluator& ev, const Value& input, const Args& a, bool with_attr, bool keep) {
  // jinja2 yields nothing for a falsy input (None, "", 0, Undefined) instead of failing.
  if (!truthy(input)) return Value::sequence({}, Seq::kGenerator);
  size_t next = 0;
  Value attribute;
  if (with_attr) {
    if (a.positional.empty()) return type_error("selectattr/rejectattr need an attribute");
    attribute = a.positional[next++];
  }
  std::string test;
  if (next < a.positional.size()) {
    if (!a.positional[next].is_string()) return type_error("test name must be a string");
    test = a.positional[next++].as_string();
  }
  Args test_args;
  test_args.positional.assign(a.positional.begin() + static_cast<long>(next), a.positional.end());
  test_args.keyword = a.keyword;
  JINJA_TRY(auto items, iterate(input));
  std::vector<Value> out;
  for (const auto& item : *items) {
    TS_RETURN_IF_ERROR(ev.state().step());
    Value v = item;
    if (with_attr) {
      JINJA_TRY(v, get_path(item, attribute));
    }
    bool ok;
    if (test.empty()) {
      ok = truthy(v);
    } else {
      JINJA_TRY(ok, apply_test(ev, test, v, test_args));
    }
    if (ok == keep) out.push_back(item);
  }
  return Value::sequence(std::move(out), Seq::kGenerator);
}

Result<Value> do_map(Evaluator& ev, const Value& input, const Args& a) {
  if (!truthy(input)) return Value::sequence({}, Seq::kGenerator);  // as jinja2: `if value:`
  JINJA_TRY(auto items, iterate(input));
  std::vector<Value> out;
  if (a.positional.empty()) {
    JINJA_TRY(auto p, bind_args("map", a, {"attribute", "default"}));
    if (!p[0]) return type_error("map requires a filter name or attribute=");
    for (const auto& item : *items) {
      JINJA_TRY(Value v, get_path(item, *p[0]));
      if (v.is_undefined() && p[1]) v = *p[1];
      out.push_back(std::move(v));
    }
    return Value::sequence(std::move(out), Seq::kGenerator);
  }
  if (!a.positional[0].is_string()) return type_error("map filter name must be a string");
  const std::string name = a.positional[0].as_string();
  Args rest;
  rest.positional.assign(a.positional.begin() + 1, a.positional.end());
  rest.keyword = a.keyword;
  for (const auto& item : *items) {
    JINJA_TRY(Value v, apply_filter(ev, name, item, rest));
    out.push_back(std::move(v));
  }
  return Value::sequence(std::move(out), Seq::kGenerator);
}

Result<Value> do_sort(Evaluator& ev, const Value& input, const Args& a) {
  JINJA_TRY(auto p, bind_args("sort", a, {"reverse", "case_sensitive", "attribute"}));
  JINJA_TRY(auto items, iterate(input));
  TS_RETURN_IF_ERROR(ev.state().step(items->size() * 8));
  std::vector<std::pair<Value, Value>> keyed;
  const bool cs = p[1] && truthy(*p[1]);
  for (const auto& item : *items) {
    JINJA_TRY(Value k, sort_key(item, p[2], cs));
    keyed.emplace_back(std::move(k), item);
  }
  TS_RETURN_IF_ERROR(sort_by_keys(&keyed, p[0] && truthy(*p[0])));
  std::vector<Value> out;
  for (auto& kv : keyed) out.push_back(std::move(kv.second));
  return Value::list(std::move(out));
}

Result<Value> do_dictsort(Evaluator& ev, const Value& input, const Args& a) {
  JINJA_TRY(auto p, bind_args("dictsort", a, {"case_sensitive", "by", "reverse"}));
  if (!input.is_dict()) return type_error("dictsort expects a mapping");
  const std::string by = p[1] && p[1]->is_string() ? p[1]->as_string() : "key";
  if (by != "key" && by != "value") return invalid_argument("You can only sort by either \"key\" or \"value\"");
  TS_RETURN_IF_ERROR(ev.state().step(input.as_dict().items.size() * 8));
  std::vector<std::pair<Value, Value>> keyed;
  for (const auto& [k, v] : input.as_dict().items) {
    keyed.emplace_back(ignore_case(by == "key" ? k : v, p[0] && truthy(*p[0])), Value::list({k, v}, true));
  }
  TS_RETURN_IF_ERROR(sort_by_keys(&keyed, p[2] && truthy(*p[2])));
  std::vector<Value> out;
  for (auto& kv : keyed) out.push_back(std::move(kv.second));
  return Value::list(std::move(out));
}

Result<Value> do_min_max(const Value& input, const Args& a, bool is_max) {
  JINJA_TRY(auto p, bind_args(is_max ? "max" : "min", a, {"case_sensitive", "attribute"}));
  JINJA_TRY(auto items, iterate(input));
  if (items->empty()) return Value::undefined("No aggregated item, sequence was empty.");
  const bool cs = p[0] && truthy(*p[0]);
  size_t best = 0;
  JINJA_TRY(Value best_key, sort_key((*items)[0], p[1], cs));
  for (size_t i = 1; i < items->size(); ++i) {
    JINJA_TRY(Value k, sort_key((*items)[i], p[1], cs));
    JINJA_TRY(int c, compare(k, best_key));
    if (is_max ? c > 0 : c < 0) {
      best = i;
      best_key = std::move(k);
    }
  }
  return (*items)[best];
}

Result<Value> do_unique(const Value& input, const Args& a) {
  JINJA_TRY(auto p, bind_args("unique", a, {"case_sensitive", "attribute"}));
  JINJA_TRY(auto items, iterate(input));
  std::vector<Value> seen;
  std::vector<Value> out;
  for (const auto& item : *items) {
    JINJA_TRY(Value k, sort_key(item, p[1], p[0] && truthy(*p[0])));
    if (std::any_of(seen.begin(), seen.end(), [&](const Value& s) { return equals(s, k); })) continue;
    seen.push_back(std::move(k));
    out.push_back(item);
  }
  return Value::sequence(std::move(out), Seq::kGenerator);
}

Result<Value> do_items(const Value& input, const Args& a) {
  JINJA_TRY(auto p, bind_args("items", a, {}));
  if (input.is_undefined()) return Value::sequence({}, Seq::kGenerator);
  if (!input.is_dict()) return type_error("Can only get item pairs from a mapping.");
  std::vector<Value> out;
  for (const auto& [k, v] : input.as_dict().items) out.push_back(Value::list({k, v}, true));
  return Value::sequence(std::move(out), Seq::kGenerator);
}

Result<Value> do_batch(const Value& input, const Args& a) {
  JINJA_TRY(auto p, bind_args("batch", a, {"linecount", "fill_with"}));
  if (!p[0] || !p[0]->is_integral() || p[0]->as_int() <= 0) return type_error("batch linecount must be a positive int");
  const auto n = static_cast<size_t>(p[0]->as_int());
  JINJA_TRY(auto items, iterate(input));
  std::vector<Value> out;
  for (size_t i = 0; i < items->size(); i += n) {
    std::vector<Value> row(items->begin() + static_cast<long>(i),
                           items->begin() + static_cast<long>(std::min(items->size(), i + n)));
    if (row.size() < n && p[1] && !p[1]->is_none()) row.resize(n, *p[1]);
    out.push_back(Value::list(std::move(row)));
  }
  return Value::sequence(std::move(out), Seq::kGenerator);
}

Result<Value> do_join(Evaluator& ev, const Value& input, const Args& a) {
  JINJA_TRY(auto p, bind_args("join", a, {"d", "attribute"}));
  JINJA_TRY(std::string sep, p[0] ? ev.to_str(*p[0]) : Result<std::string>(std::string()));
  JINJA_TRY(auto items, iterate(input));
  std::string out;
  for (size_t i = 0; i < items->size(); ++i) {
    Value v = (*items)[i];
    if (p[1] && !p[1]->is_none()) {
      JINJA_TRY(v, get_path(v, *p[1]));
    }
    if (i > 0) out += sep;
    out += py_str(v);
    TS_RETURN_IF_ERROR(ev.state().charge_bytes(out.size()));
  }
  return Value::string(std::move(out));
}


Result<Value> do_sum(Evaluator& ev, const Value& input, const Args& a) {
    JINJA_TRY(auto p, bind_args("sum", a, {"attribute", "start"}));
    JINJA_TRY(auto items, iterate(input));
    Value acc = arg_or(p[1], Value::integer(0));
    for (const auto& item : *items) {
      Value v = item;
      if (p[0] && !p[0]->is_none()) {
        JINJA_TRY(v, get_path(item, *p[0]));
      }
      JINJA_TRY(acc, ev.binary(BinaryOp::kAdd, acc, v));
    }
    return acc;
}

// Filters that are Python generator functions in jinja2: their errors surface only when
// the result is consumed.
bool is_generator_filter(std::string_view name) {
  return name == "map" || name == "select" || name == "reject" || name == "selectattr" ||
         name == "rejectattr" || name == "unique" || name == "items" || name == "batch";
}

}  // namespace

bool is_sequence_filter(std::string_view name) {
  return is_generator_filter(name) || name == "sort" || name == "dictsort" || name == "min" ||
         name == "max" || name == "join" || name == "sum";
}

Result<Value> apply_sequence_filter(Evaluator& ev, const std::string& name, const Value& input,
                                    const Args& a) {
  if (name == "sort") return do_sort(ev, input, a);
  if (name == "dictsort") return do_dictsort(ev, input, a);
  if (name == "min" || name == "max") return do_min_max(input, a, name == "max");
  if (name == "join") return do_join(ev, input, a);
  if (name == "sum") return do_sum(ev, input, a);
  Result<Value> r = [&]() -> Result<Value> {
    if (name == "map") return do_map(ev, input, a);
    if (name == "select") return do_select(ev, input, a, false, true);
    if (name == "reject") return do_select(ev, input, a, false, false);
    if (name == "selectattr") return do_select(ev, input, a, true, true);
    if (name == "rejectattr") return do_select(ev, input, a, true, false);
    if (name == "unique") return do_unique(input, a);
    if (name == "items") return do_items(input, a);
    return do_batch(input, a);
  }();
  if (r.ok() || r.status().code() == ErrorCode::kResourceExhausted) return r;
  return Value::failed_generator(r.status());
}

}  // namespace trimserve::jinja
