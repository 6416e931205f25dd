// Statement execution, scopes, render state and the Template entry points.
#include "engine/jinja_eval.h"

#include "engine/jinja_format.h"
#include "engine/jinja_parser.h"
#include "engine/jinja_result.h"

namespace trimserve::jinja {

// ---- Scope / Args ----

const Value* Scope::find(std::string_view name) const {
  for (const Scope* s = this; s != nullptr; s = s->parent.get()) {
    for (auto it = s->vars.rbegin(); it != s->vars.rend(); ++it) {
      if (it->first == name) return &it->second;
    }
  }
  return nullptr;
}

void Scope::set(const std::string& name, Value v) {
  for (auto& [k, old] : vars) {
    if (k == name) {
      old = std::move(v);
      return;
    }
  }
  vars.emplace_back(name, std::move(v));
}

Result<std::vector<std::optional<Value>>> bind_args(std::string_view fn, const Args& args,
                                                   std::initializer_list<std::string_view> params) {
  std::vector<std::optional<Value>> out(params.size());
  if (args.positional.size() > params.size()) {
    return type_error(std::string(fn) + "() takes at most " + std::to_string(params.size()) +
                      " argument(s) (" + std::to_string(args.positional.size()) + " given)");
  }
  for (size_t i = 0; i < args.positional.size(); ++i) out[i] = args.positional[i];
  for (const auto& [key, value] : args.keyword) {
    size_t i = 0;
    for (std::string_view p : params) {
      if (p == key) break;
      ++i;
    }
    if (i == params.size()) {
      return type_error(std::string(fn) + "() got an unexpected keyword argument '" + key + "'");
    }
    if (out[i]) return type_error(std::string(fn) + "() got multiple values for argument '" + key + "'");
    out[i] = value;
  }
  return out;
}

// ---- RenderState ----

RenderState::RenderState(const RenderOptions& options, std::string* out)
    : limits_(options.limits), now_(options.now ? *options.now : std::time(nullptr)), out_(out) {}

RenderState::~RenderState() {
  for (auto& ns : namespaces_) ns->items.clear();
  for (auto& m : macros_) m->closure.reset();
}

Status RenderState::step(uint64_t n) {
  steps_ += n;
  if (steps_ > limits_.max_steps) {
    return resource_exhausted("template evaluation exceeded " + std::to_string(limits_.max_steps) +
                              " steps");
  }
  return Status();
}

Status RenderState::charge_bytes(size_t bytes) {
  if (bytes > limits_.max_output_bytes) {
    return resource_exhausted("string of " + std::to_string(bytes) + " bytes exceeds the limit of " +
                              std::to_string(limits_.max_output_bytes));
  }
  return step(1 + bytes / 64);
}

Status RenderState::count_loop_iteration() {
  if (++loop_iterations_ > limits_.max_loop_iterations) {
    return resource_exhausted("template loops exceeded " +
                              std::to_string(limits_.max_loop_iterations) + " iterations");
  }
  return step();
}

Status RenderState::append(std::string_view text) {
  out_->append(text);
  if (out_->size() > limits_.max_output_bytes) {
    return resource_exhausted("rendered output exceeds " +
                              std::to_string(limits_.max_output_bytes) + " bytes");
  }
  return step(text.size() / 64);
}

Value RenderState::make_namespace(std::shared_ptr<DictData> data) {
  namespaces_.push_back(data);
  return Value::new_namespace(std::move(data));
}

Value RenderState::make_macro(const MacroStmt* macro, ScopePtr closure) {
  auto c = std::make_shared<Callable>();
  c->type = Callable::Type::kMacro;
  c->name = macro->name;
  c->macro = macro;
  c->closure = std::move(closure);
  macros_.push_back(c);
  return Value::callable(std::move(c));
}

// ---- statements ----

Status Evaluator::locate(Status s, int line) {
  if (s.ok() || st_.error_located) return s;
  st_.error_located = true;
  return Status(s.code(), "line " + std::to_string(line) + ": " + s.message());
}

Status Evaluator::exec(const Body& body, const ScopePtr& scope, Flow* flow) {
  for (const auto& s : body) {
    TS_RETURN_IF_ERROR(locate(exec_one(*s, scope, flow), s->line));
    if (*flow != Flow::kNormal) return Status();
  }
  return Status();
}

Status Evaluator::capture(const Body& body, const ScopePtr& scope, std::string* out) {
  std::string* prev = st_.swap_out(out);
  Flow flow = Flow::kNormal;
  Status s = exec(body, scope, &flow);
  st_.swap_out(prev);
  return s;
}

Result<Value> Evaluator::apply_filters(const std::vector<FilterCall>& filters, Value v,
                                       const ScopePtr& scope) {
  for (const auto& f : filters) {
    JINJA_TRY(Args args, eval_args(f.args, scope));
    JINJA_TRY(v, apply_filter(*this, f.name, v, args));
  }
  return v;
}

Status Evaluator::exec_one(const Stmt& s, const ScopePtr& scope, Flow* flow) {
  TS_RETURN_IF_ERROR(st_.step());
  switch (s.kind) {
    case StmtKind::kText:
      return st_.append(static_cast<const TextStmt&>(s).text);
    case StmtKind::kOutput: {
      JINJA_TRY(Value v, eval(*static_cast<const OutputStmt&>(s).expr, scope));
      JINJA_TRY(std::string text, to_str(v));
      return st_.append(text);
    }
    case StmtKind::kIf: {
      const auto& node = static_cast<const IfStmt&>(s);
      for (const auto& [test, body] : node.branches) {
        JINJA_TRY(Value cond, eval(*test, scope));
        if (truthy(cond)) return exec(body, scope, flow);
      }
      return exec(node.else_body, scope, flow);
    }
    case StmtKind::kFor:
      return exec_for(static_cast<const ForStmt&>(s), scope);
    case StmtKind::kSet: {
      const auto& node = static_cast<const SetStmt&>(s);
      JINJA_TRY(Value v, eval(*node.value, scope));
      return exec_set(node.target, std::move(v), scope, s.line);
    }
    case StmtKind::kSetBlock: {
      const auto& node = static_cast<const SetBlockStmt&>(s);
      std::string text;
      TS_RETURN_IF_ERROR(capture(node.body, scope, &text));
      JINJA_TRY(Value v, apply_filters(node.filters, Value::string(std::move(text)), scope));
      return exec_set(node.target, std::move(v), scope, s.line);
    }
    case StmtKind::kMacro: {
      const auto& node = static_cast<const MacroStmt&>(s);
      scope->set(node.name, st_.make_macro(&node, scope));
      return Status();
    }
    case StmtKind::kWith: {
      const auto& node = static_cast<const WithStmt&>(s);
      auto inner = std::make_shared<Scope>();
      inner->parent = scope;
      std::vector<Value> values;
      for (const auto& [target, expr] : node.assignments) {
        JINJA_TRY(Value v, eval(*expr, scope));
        values.push_back(std::move(v));
      }
      for (size_t i = 0; i < values.size(); ++i) {
        TS_RETURN_IF_ERROR(exec_set(node.assignments[i].first, values[i], inner, s.line));
      }
      return exec(node.body, inner, flow);
    }
    case StmtKind::kFilterBlock: {
      const auto& node = static_cast<const FilterBlockStmt&>(s);
      std::string text;
      TS_RETURN_IF_ERROR(capture(node.body, scope, &text));
      JINJA_TRY(Value v, apply_filters(node.filters, Value::string(std::move(text)), scope));
      JINJA_TRY(std::string out, to_str(v));
      return st_.append(out);
    }
    case StmtKind::kBreak:
      *flow = Flow::kBreak;
      return Status();
    case StmtKind::kContinue:
      *flow = Flow::kContinue;
      return Status();
    case StmtKind::kScope: {  // {% generation %}: a call block, so a child scope
      auto inner = std::make_shared<Scope>();
      inner->parent = scope;
      return exec(static_cast<const ScopeStmt&>(s).body, inner, flow);
    }
  }
  return internal_error("unknown statement kind");
}

Status Evaluator::exec_set(const Target& target, Value value, const ScopePtr& scope, int line) {
  switch (target.type) {
    case Target::Type::kName:
      scope->set(target.name, std::move(value));
      return Status();
    case Target::Type::kNamespaceAttr: {
      const Value* ns = scope->find(target.name);
      if (ns == nullptr || ns->kind() != Kind::kNamespace) {
        return invalid_argument("cannot assign attribute on non-namespace object");
      }
      ns->as_namespace().set(Value::string(target.attr), std::move(value));
      return Status();
    }
    case Target::Type::kTuple: {
      JINJA_TRY(auto items, iterate(value));
      if (items->size() != target.items.size()) {
        return invalid_argument(items->size() < target.items.size()
                                    ? "not enough values to unpack (expected " +
                                          std::to_string(target.items.size()) + ", got " +
                                          std::to_string(items->size()) + ")"
                                    : "too many values to unpack (expected " +
                                          std::to_string(target.items.size()) + ")");
      }
      for (size_t i = 0; i < items->size(); ++i) {
        TS_RETURN_IF_ERROR(exec_set(target.items[i], (*items)[i], scope, line));
      }
      return Status();
    }
  }
  return internal_error("unknown assignment target");
}

Status Evaluator::exec_for(const ForStmt& s, const ScopePtr& scope) {
  JINJA_TRY(Value iterable, eval(*s.iter, scope));
  JINJA_TRY(auto items, iterate(iterable));
  if (s.filter) {
    auto kept = std::make_shared<std::vector<Value>>();
    for (const auto& item : *items) {
      TS_RETURN_IF_ERROR(st_.count_loop_iteration());
      auto probe = std::make_shared<Scope>();
      probe->parent = scope;
      TS_RETURN_IF_ERROR(exec_set(s.target, item, probe, s.line));
      JINJA_TRY(Value keep, eval(*s.filter, probe));
      if (truthy(keep)) kept->push_back(item);
    }
    items = std::move(kept);
  }
  if (items->empty()) {
    Flow flow = Flow::kNormal;
    return exec(s.else_body, scope, &flow);
  }
  for (size_t i = 0; i < items->size(); ++i) {
    TS_RETURN_IF_ERROR(st_.count_loop_iteration());
    auto iteration = std::make_shared<Scope>();
    iteration->parent = scope;
    auto info = std::make_shared<LoopInfo>();
    info->items = items;
    info->index0 = static_cast<int64_t>(i);
    iteration->set("loop", Value::loop(std::move(info)));
    TS_RETURN_IF_ERROR(exec_set(s.target, (*items)[i], iteration, s.line));
    Flow flow = Flow::kNormal;
    TS_RETURN_IF_ERROR(exec(s.body, iteration, &flow));
    if (flow == Flow::kBreak) break;
  }
  return Status();
}

Status Evaluator::exec_macro_call(const Callable& macro, const Args& args, std::string* out) {
  const MacroStmt& m = *macro.macro;
  if (!macro.closure) return failed_precondition("macro '" + m.name + "' called after its render ended");
  if (st_.call_depth >= st_.limits().max_call_depth) {
    return resource_exhausted("macro calls nested deeper than " +
                              std::to_string(st_.limits().max_call_depth));
  }
  auto scope = std::make_shared<Scope>();
  scope->parent = macro.closure;
  std::vector<bool> bound(m.params.size(), false);
  std::vector<Value> varargs;
  for (size_t i = 0; i < args.positional.size(); ++i) {
    if (i < m.params.size()) {
      scope->set(m.params[i], args.positional[i]);
      bound[i] = true;
    } else {
      varargs.push_back(args.positional[i]);
    }
  }
  auto kwargs = std::make_shared<DictData>();
  for (const auto& [key, value] : args.keyword) {
    size_t i = 0;
    while (i < m.params.size() && m.params[i] != key) ++i;
    if (i == m.params.size()) {
      kwargs->items.emplace_back(Value::string(key), value);
      continue;
    }
    if (bound[i]) return type_error("macro '" + m.name + "' got multiple values for argument '" + key + "'");
    scope->set(key, value);
    bound[i] = true;
  }
  const size_t first_default = m.params.size() - m.defaults.size();
  for (size_t i = 0; i < m.params.size(); ++i) {
    if (bound[i]) continue;
    if (i >= first_default) {
      JINJA_TRY(Value d, eval(*m.defaults[i - first_default], scope));
      scope->set(m.params[i], std::move(d));
    } else {
      scope->set(m.params[i], Value::undefined("parameter '" + m.params[i] + "' was not provided"));
    }
  }
  scope->set("varargs", Value::list(std::move(varargs), true));
  scope->set("kwargs", Value::dict(std::move(kwargs)));
  ++st_.call_depth;
  Status s = capture(m.body, scope, out);
  --st_.call_depth;
  return s;
}

// ---- Template ----

Result<Template> Template::parse(std::string_view source) {
  JINJA_TRY(Body body, parse_template(source));
  return Template(std::make_shared<const Body>(std::move(body)));
}

Result<std::string> Template::render(const nlohmann::ordered_json& context,
                                     const RenderOptions& options) const {
  if (!context.is_object()) return invalid_argument("template context must be a JSON object");
  std::vector<std::pair<std::string, Value>> vars;
  for (const auto& [key, value] : context.items()) {
    auto v = from_json(value);
    if (!v.ok()) return v.status().with_context("context variable '" + key + "'");
    vars.emplace_back(key, std::move(v).value());
  }
  return render(vars, options);
}

Result<std::string> Template::render(const std::vector<std::pair<std::string, Value>>& context,
                                     const RenderOptions& options) const {
  auto root = std::make_shared<Scope>();
  for (const auto& [key, value] : context) root->set(key, value);
  std::string out;
  {
    RenderState state(options, &out);
    Evaluator ev(state);
    Flow flow = Flow::kNormal;
    TS_RETURN_IF_ERROR(ev.exec(*body_, root, &flow));
  }
  return out;
}

}  // namespace trimserve::jinja
