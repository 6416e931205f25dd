// Jinja template: parse once, render many times. The public entry point of the Jinja
// interpreter that renders Hugging Face chat templates byte-identically to Python jinja2 in
// the environment transformers uses (ImmutableSandboxedEnvironment, trim_blocks,
// lstrip_blocks, loopcontrols, its own `tojson`, globals raise_exception/strftime_now).
//
// Thread safety: a Template is immutable after parse(); render() is const and may run
// concurrently from any number of threads. Copies share the parsed tree.
//
// Not supported (see jinja_parser.h for tags): Python big integers (int64 overflow is an
// error), format specs in str.format, `{% call %}`/caller, template inheritance and
// includes, recursive loops, loop.changed, lipsum/cycler/joiner, and a few rarely used
// filters (listed in jinja_filters.cpp). Printing a generator or range shows no address.
//
// Source layout: jinja_lexer (+ jinja_literals) -> jinja_parser (statements),
// jinja_expr_parser (operators), jinja_operand_parser (operands) -> jinja_ast ->
// jinja_eval (statements), jinja_expr_eval, jinja_operators, jinja_object (attribute/item
// access), jinja_methods, jinja_globals, jinja_filters, jinja_seq_filters, jinja_is_tests,
// jinja_printf, over jinja_value, jinja_format (str/repr/json) and jinja_utf8.
#pragma once

#include <cstdint>
#include <ctime>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "engine/jinja_value.h"

namespace trimserve::jinja {

struct Stmt;

// Bounds on one render, so that a hostile template or conversation cannot hang or exhaust
// memory. Exceeding any of them fails the render with kResourceExhausted.
struct RenderLimits {
  size_t max_output_bytes = 8u << 20;      // rendered text; also any single built string
  uint64_t max_steps = 20'000'000;         // expression evaluations + bytes/64 processed
  uint64_t max_loop_iterations = 1'000'000;
  int max_call_depth = 32;                 // nested macro calls
};

struct RenderOptions {
  RenderLimits limits;
  // Clock for strftime_now(); nullopt = the system clock at render time.
  std::optional<std::time_t> now;
};

class Template {
 public:
  // Errors: kInvalidArgument "line L, column C: <what>" for syntax errors, unsupported tags
  // and source that is not valid UTF-8.
  static Result<Template> parse(std::string_view source);

  // Renders with `context` (a JSON object) as the top-level variables; key order of
  // objects is preserved in tojson output. Errors: kInvalidArgument for runtime errors
  // ("line N: <what>", or the verbatim message of raise_exception), kResourceExhausted
  // for RenderLimits.
  Result<std::string> render(const nlohmann::ordered_json& context,
                             const RenderOptions& options = {}) const;

  // Same with already converted variables (later duplicates override earlier ones).
  Result<std::string> render(const std::vector<std::pair<std::string, Value>>& context,
                             const RenderOptions& options = {}) const;

 private:
  explicit Template(std::shared_ptr<const std::vector<std::unique_ptr<Stmt>>> body)
      : body_(std::move(body)) {}
  std::shared_ptr<const std::vector<std::unique_ptr<Stmt>>> body_;
};

}  // namespace trimserve::jinja
