// Unit tests of the Jinja interpreter behind chat templates. Expected strings were checked
// against Python jinja2 configured as transformers configures it (see
// tests/engine/render_chat_reference.py); the full differential suite is
// chat_template_conformance_test.
#include <catch2/catch.hpp>

#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/jinja_template.h"

namespace {

using nlohmann::ordered_json;
using trimserve::ErrorCode;
using trimserve::Result;
using trimserve::jinja::RenderOptions;
using trimserve::jinja::Template;

Result<std::string> try_render(const std::string& src, const ordered_json& ctx = ordered_json::object(),
                               const RenderOptions& opts = {}) {
  auto t = Template::parse(src);
  if (!t.ok()) return t.status();
  return t->render(ctx, opts);
}

std::string render(const std::string& src, const ordered_json& ctx = ordered_json::object()) {
  auto r = try_render(src, ctx);
  INFO(src << " -> " << (r.ok() ? std::string() : r.status().to_string()));
  REQUIRE(r.ok());
  return *r;
}

std::string error_of(const std::string& src, const ordered_json& ctx = ordered_json::object(),
                     const RenderOptions& opts = {}) {
  auto r = try_render(src, ctx, opts);
  INFO(src);
  REQUIRE_FALSE(r.ok());
  return r.status().message();
}

}  // namespace

TEST_CASE("expressions follow Python semantics", "[jinja]") {
  CHECK(render("{{ 1 + 2 * 3 }}|{{ 7 / 2 }}|{{ 10 // 3 }}|{{ 2 ** 8 }}|{{ 'a' ~ 1 ~ none }}|"
               "{{ 0.1 + 0.2 }}|{{ [1, 'a', none, true] }}|{{ {'k': 'v'} }}") ==
        "7|3.5|3|256|a1None|0.30000000000000004|[1, 'a', None, True]|{'k': 'v'}");
  CHECK(render("{{ -7 // 2 }} {{ -7 % 3 }} {{ 1e16 }} {{ 1e15 }} {{ 1e-5 }} {{ 2.0 }}") ==
        "-4 2 1e+16 1000000000000000.0 1e-05 2.0");
  CHECK(render("{{ 0 or 'x' }} {{ 'a' and 'b' }} {{ 'y' if false }}| {{ 1 < 2 < 3 }}") == "x b | True");
  CHECK(render("{{ 'ab' in 'cabd' }} {{ 3 not in [1, 2] }} {{ 'k' in {'k': 1} }}") == "True True True");
}

TEST_CASE("strings are code points", "[jinja]") {
  ordered_json ctx = {{"s", "<think>\nr\n</think>\n\nanswer é"}};
  CHECK(render("{{ s.split('</think>')[-1].lstrip('\\n') }}|{{ s.startswith('<think>') }}|"
               "{{ s[:7] }}|{{ s | length }}",
               ctx) == "answer é|True|<think>|28");
  CHECK(render("{{ 'héllo'[1] }}|{{ 'héllo'[::-1] }}") == "é|olléh");
}

TEST_CASE("whitespace control matches trim_blocks and lstrip_blocks", "[jinja]") {
  ordered_json ctx = {{"items", {1, 2}}};
  CHECK(render("<ul>\n  {% for x in items %}\n  <li>{{ x }}</li>\n  {% endfor %}\n</ul>\n", ctx) ==
        "<ul>\n  <li>1</li>\n  <li>2</li>\n</ul>");
  CHECK(render("{%- for x in items -%}\n  [{{ x }}]\n{%- endfor %}\nend", ctx) == "[1][2]end");
  CHECK(render("a  {{- 'b' -}}  c") == "abc");
  CHECK(render("x {% if true %}y{% endif %}") == "x y");  // lstrip only at line start
  CHECK(render("{% raw %}{{ not evaluated }}{% endraw %}") == "{{ not evaluated }}");
  CHECK(render("line\r\n{# comment #}\r\nnext\n") == "line\nnext");
}

TEST_CASE("tojson is transformers' json.dumps", "[jinja]") {
  ordered_json ctx = {{"d", ordered_json::object({{"z", "é\n"}, {"a", {1, 2.5, nullptr}}})}};
  CHECK(render("{{ d | tojson }}|{{ d | tojson(indent=2) }}", ctx) ==
        "{\"z\": \"é\\n\", \"a\": [1, 2.5, null]}|{\n  \"z\": \"é\\n\",\n  \"a\": [\n    1,\n"
        "    2.5,\n    null\n  ]\n}");
  CHECK(render("{{ d | tojson(sort_keys=true, separators=(',', ':')) }}", ctx) ==
        "{\"a\":[1,2.5,null],\"z\":\"é\\n\"}");
  CHECK(render("{{ '<&>' | tojson }}") == "\"<&>\"");  // no HTML escaping
}

TEST_CASE("loops, namespaces and macros", "[jinja]") {
  ordered_json ctx = {{"ms",
                       {{{"role", "system"}, {"n", 100}},
                        {{"role", "user"}, {"n", 1}},
                        {{"role", "assistant"}, {"n", 2}}}}};
  CHECK(render("{% set ns = namespace(total=0) %}{% for m in ms if m.role != 'system' %}"
               "{% set ns.total = ns.total + m.n %}{{ loop.index }}/{{ loop.length }}"
               "{% if not loop.last %},{% endif %}{% endfor %}={{ ns.total }}",
               ctx) == "1/2,2/2=3");
  CHECK(render("{% set x = 1 %}{% for i in [5] %}{% set x = i %}{% endfor %}{{ x }}") == "1");
  CHECK(render("{% macro m(a, b='B') %}{{ a }}{{ b }}{% endmacro %}{{ m(1) }}{{ m(2, b=3) }}") == "1B23");
  CHECK(render("{% for i in range(9) %}{% if i == 3 %}{% break %}{% endif %}{{ i }}{% endfor %}") == "012");
}

TEST_CASE("undefined values behave like jinja2's Undefined", "[jinja]") {
  CHECK(render("[{{ x }}]{{ x is defined }}{{ x | default('d') }}{{ x | length }}") == "[]Falsed0");
  ordered_json ctx = {{"m", {{"role", "user"}}}};
  CHECK(render("{{ m.content is defined }}{{ m.content }}|{{ m['role'] }}", ctx) == "False|user");
  CHECK(error_of("{{ m.content.strip() }}", ctx).find("has no attribute 'content'") != std::string::npos);
}

TEST_CASE("syntax errors name the line and column", "[jinja]") {
  auto t = Template::parse("ok\nok\n  {% if x %}\n{{ 1 + }}\n{% endif %}");
  REQUIRE_FALSE(t.ok());
  CHECK(t.status().code() == ErrorCode::kInvalidArgument);
  CHECK(t.status().message().find("line 4, column") != std::string::npos);

  auto unclosed = Template::parse("{% for m in messages %}\nx");
  REQUIRE_FALSE(unclosed.ok());
  CHECK(unclosed.status().message().find("endfor") != std::string::npos);

  auto unknown = Template::parse("a\n{% include 'x' %}");
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.status().message().find("line 2") != std::string::npos);
  CHECK(unknown.status().message().find("include") != std::string::npos);

  CHECK_FALSE(Template::parse("{{ 'unterminated }}").ok());
  CHECK_FALSE(Template::parse("{# no end").ok());
  CHECK_FALSE(Template::parse("{% break %}").ok());
  CHECK_FALSE(Template::parse(std::string("{{ '\xff' }}")).ok());  // not UTF-8
}

TEST_CASE("runtime errors name the line and raise_exception is verbatim", "[jinja]") {
  CHECK(error_of("a\n\n{{ 'x' + 1 }}").rfind("line 3: ", 0) == 0);
  CHECK(error_of("{{ raise_exception('Roles must alternate!') }}") == "Roles must alternate!");
  CHECK(error_of("{% macro f() %}{{ raise_exception('deep') }}{% endmacro %}{{ f() }}") == "deep");
  CHECK(error_of("{{ 1 / 0 }}").find("division by zero") != std::string::npos);
  CHECK(error_of("{{ 1 | no_such_filter }}").find("No filter named 'no_such_filter'") != std::string::npos);
  CHECK(error_of("{% set l = [] %}{{ l.append(1) }}").find("unsafe") != std::string::npos);
  CHECK(error_of("{{ 9223372036854775807 + 1 }}").find("overflow") != std::string::npos);
}

TEST_CASE("limits stop hostile templates", "[jinja][limits]") {
  RenderOptions small;
  small.limits.max_output_bytes = 1 << 16;
  small.limits.max_loop_iterations = 10000;
  small.limits.max_steps = 1'000'000;
  auto exhausted = [&](const std::string& src) {
    auto r = try_render(src, ordered_json::object(), small);
    INFO(src);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == ErrorCode::kResourceExhausted);
  };
  exhausted("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}");
  exhausted("{% for i in range(5000) %}{{ 'x' * 100 }}{% endfor %}");
  exhausted("{% set ns = namespace(s='ab') %}{% for i in range(64) %}{% set ns.s = ns.s + ns.s %}{% endfor %}");
  exhausted("{{ 'x' * 100000000 }}");
  exhausted("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}");
  exhausted("{% set ns = namespace(v=[]) %}{% for i in range(1000) %}{% set ns.v = [ns.v] %}{% endfor %}");
  CHECK(error_of("{{ range(1000000) | length }}").find("Range too big") != std::string::npos);

  // Pathological nesting is a syntax error, not a stack overflow.
  CHECK_FALSE(Template::parse("{{ " + std::string(5000, '(') + "1" + std::string(5000, ')') + " }}").ok());
  std::string chain = "{{ 1";
  for (int i = 0; i < 5000; ++i) chain += " + 1";
  CHECK_FALSE(Template::parse(chain + " }}").ok());
  std::string ifs;
  for (int i = 0; i < 500; ++i) ifs += "{% if true %}";
  CHECK_FALSE(Template::parse(ifs).ok());
}

TEST_CASE("render is const and thread-safe", "[jinja]") {
  auto t = Template::parse(
      "{% set ns = namespace(n=0) %}{% for m in messages %}{% set ns.n = ns.n + 1 %}"
      "{{ m.content | upper }}{% endfor %}{{ ns.n }}");
  REQUIRE(t.ok());
  const Template shared = *t;
  std::vector<std::string> results(8);
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      ordered_json ctx = {{"messages", ordered_json::array()}};
      for (int k = 0; k <= i; ++k) ctx["messages"].push_back({{"content", "m" + std::to_string(k)}});
      for (int rep = 0; rep < 200; ++rep) {
        auto r = shared.render(ctx);
        results[i] = r.ok() ? *r : r.status().to_string();
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int i = 0; i < 8; ++i) {
    std::string want;
    for (int k = 0; k <= i; ++k) want += "M" + std::to_string(k);
    CHECK(results[i] == want + std::to_string(i + 1));
  }
}

TEST_CASE("context key order is kept and invalid input is rejected", "[jinja]") {
  ordered_json args = ordered_json::parse(R"({"zeta": 1, "alpha": {"y": 2, "b": 3}})");
  CHECK(render("{{ a | tojson }}", {{"a", args}}) == R"({"zeta": 1, "alpha": {"y": 2, "b": 3}})");
  CHECK_FALSE(try_render("{{ x }}", {{"x", std::string("\xc3\x28")}}).ok());
  CHECK_FALSE(try_render("{{ x }}", ordered_json::array()).ok());
}

TEST_CASE("strftime_now uses the injected clock", "[jinja]") {
  RenderOptions opts;
  opts.now = 1700000000;  // 2023-11-14/15 in every time zone
  auto r = try_render("{{ strftime_now('%Y-%m') }}", ordered_json::object(), opts);
  REQUIRE(r.ok());
  CHECK(*r == "2023-11");
}
