// Chat request parsing: OpenAI's fields and trimserve's extensions, 400 for malformed JSON and
// wrong types (naming the field), 422 for values out of range, unknown fields ignored; and the
// response shapes the SDKs parse.
#include "server/api/chat_request.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "server/api/chat_response.h"
#include "server/api/completion_request.h"

using namespace trimserve;
using namespace trimserve::api;

namespace {

ApiError error_of(const std::string& body) {
  auto r = parse_chat_request(body, 1000);
  REQUIRE(std::holds_alternative<ApiError>(r));
  return std::get<ApiError>(r);
}

ChatRequest ok(const std::string& body) {
  auto r = parse_chat_request(body, 1000);
  if (auto* e = std::get_if<ApiError>(&r)) FAIL(e->message);
  return std::get<ChatRequest>(r);
}

}  // namespace

TEST_CASE("a full request parses", "[api]") {
  const ChatRequest r = ok(R"({
    "model": "m", "messages": [{"role": "system", "content": "be brief"},
                               {"role": "user", "content": [{"type": "text", "text": "hi "},
                                                            {"type": "text", "text": "there"}]}],
    "max_completion_tokens": 7, "temperature": 0, "top_p": 0.9, "top_k": 5, "min_p": 0.1,
    "seed": 42, "n": 1, "stop": ["\n\n", "END"], "presence_penalty": 0.5,
    "frequency_penalty": -0.5, "repetition_penalty": 1.1, "user": "u1", "stream": true,
    "stream_options": {"include_usage": true}, "session_id": "s-1", "kv_policy": "trimkv",
    "kv_budget": 64, "some_future_field": {"x": 1}})");
  CHECK(r.model == "m");
  CHECK(r.messages[1]["content"] == "hi there");
  CHECK(r.sampling.max_tokens == 7);
  CHECK(r.max_tokens_given);
  CHECK(r.sampling.temperature == 0.0);
  CHECK(r.sampling.top_k == 5);
  CHECK(r.sampling.seed == std::optional<uint64_t>(42));
  CHECK(r.sampling.stop == std::vector<std::string>{"\n\n", "END"});
  CHECK(r.stream);
  CHECK(r.include_usage);
  CHECK(r.session_id == std::optional<std::string>("s-1"));
  CHECK(r.kv.policy == std::optional<std::string>("trimkv"));
  CHECK(r.kv.budget == std::optional<int64_t>(64));
  CHECK(ok(R"({"model":"m","messages":[{"role":"user","content":"x"}],"stop":"."})").sampling.stop ==
        std::vector<std::string>{"."});
  CHECK(!ok(R"({"model":"m","messages":[{"role":"user","content":"x"}]})").max_tokens_given);
}

TEST_CASE("malformed JSON and wrong types are 400 naming the field", "[api]") {
  CHECK(error_of("{not json").status == 400);
  CHECK(error_of("[1,2]").status == 400);
  ApiError e = error_of(R"({"model":"m","messages":[{"role":"user","content":"x"}],"temperature":"hot"})");
  CHECK(e.status == 400);
  CHECK(e.param == "temperature");
  CHECK(e.message == "'temperature' must be a number, got string");
  CHECK(error_of(R"({"messages":[]})").param == "model");
  CHECK(error_of(R"({"model":"m"})").param == "messages");
  CHECK(error_of(R"({"model":"m","messages":"hi"})").status == 400);
  CHECK(error_of(R"({"model":"m","messages":[{"content":"x"}]})").param == "messages[0].role");
  CHECK(error_of(R"({"model":"m","messages":[{"role":"user","content":"x"}],"max_tokens":2.5})").param ==
        "max_tokens");
  CHECK(error_of(R"({"model":"m","messages":[{"role":"user","content":"x"}],"stop":[1]})").param == "stop");
  CHECK(error_of(R"({"model":"m","messages":[{"role":"user","content":"x"}],"stream_options":3})").status == 400);
}

TEST_CASE("values out of range are 422", "[api]") {
  auto with = [](const std::string& field) {
    return error_of(R"({"model":"m","messages":[{"role":"user","content":"x"}],)" + field + "}");
  };
  CHECK(with(R"("max_tokens": -1)").status == 422);
  CHECK(with(R"("max_tokens": 0)").param == "max_tokens");
  CHECK(with(R"("n": 2)").param == "n");
  CHECK(with(R"("top_p": 1.5)").status == 422);
  CHECK(with(R"("top_p": 1.5)").param == "top_p");
  CHECK(with(R"("temperature": -1)").status == 422);
  CHECK(with(R"("presence_penalty": 3)").status == 422);
  CHECK(with(R"("top_logprobs": 50)").status == 422);
  CHECK(with(R"("session_id": "")").status == 422);
  CHECK(error_of(R"({"model":"m","messages":[]})").status == 422);
  CHECK(error_of(R"({"model":"m","messages":[{"role":"wizard","content":"x"}]})").status == 422);
}

TEST_CASE("responses have OpenAI's shapes", "[api]") {
  CompletionIds ids{false, "chatcmpl-1", 123, "m"};
  StreamUsage u{10, 3, 4};
  const auto full = nlohmann::json::parse(chat_completion(ids, "hello", FinishReason::kStop, u));
  CHECK(full["object"] == "chat.completion");
  CHECK(full["choices"][0]["message"]["content"] == "hello");
  CHECK(full["choices"][0]["finish_reason"] == "stop");
  CHECK(full["usage"]["total_tokens"] == 13);
  CHECK(full["usage"]["prompt_tokens_details"]["cached_tokens"] == 4);
  const std::string chunk = sse_content_chunk(ids, "he");
  REQUIRE(chunk.rfind("data: ", 0) == 0);
  REQUIRE(chunk.substr(chunk.size() - 2) == "\n\n");
  const auto c = nlohmann::json::parse(chunk.substr(6));
  CHECK(c["object"] == "chat.completion.chunk");
  CHECK(c["choices"][0]["delta"]["content"] == "he");
  CHECK(c["choices"][0]["finish_reason"].is_null());
  const auto usage = nlohmann::json::parse(sse_usage_chunk(ids, u).substr(6));
  CHECK(usage["choices"].empty());
  CHECK(usage["usage"]["completion_tokens"] == 3);
  const auto err = nlohmann::json::parse(error_body(not_found_error("no", "model", "model_not_found")));
  CHECK(err["error"]["type"] == "invalid_request_error");
  CHECK(err["error"]["param"] == "model");
  CHECK(err["error"]["code"] == "model_not_found");
  CHECK(new_completion_ids("m").id != new_completion_ids("m").id);
  // Text completions.
  CompletionIds t = new_completion_ids("m", /*text_completion=*/true);
  CHECK(t.id.rfind("cmpl-", 0) == 0);
  const auto tc = nlohmann::json::parse(chat_completion(t, "abc", FinishReason::kLength, u));
  CHECK(tc["object"] == "text_completion");
  CHECK(tc["choices"][0]["text"] == "abc");
  CHECK(sse_role_chunk(t).empty());
  CHECK(nlohmann::json::parse(sse_content_chunk(t, "x").substr(6))["choices"][0]["text"] == "x");
}

TEST_CASE("completion requests: prompt forms and refused options", "[api]") {
  auto parse = [](const std::string& body) { return parse_completion_request(body, 1000); };
  auto text = parse(R"({"model":"m","prompt":"Once upon","max_tokens":3})");
  REQUIRE(std::holds_alternative<CompletionRequest>(text));
  CHECK(std::get<CompletionRequest>(text).prompt_text == "Once upon");
  auto ids = parse(R"({"model":"m","prompt":[1,2,3]})");
  REQUIRE(std::holds_alternative<CompletionRequest>(ids));
  CHECK(std::get<CompletionRequest>(ids).prompt_ids == std::vector<int32_t>{1, 2, 3});
  auto status = [&](const std::string& body) {
    auto r = parse(body);
    return std::holds_alternative<ApiError>(r) ? std::get<ApiError>(r).status : 200;
  };
  CHECK(status(R"({"model":"m","prompt":["one"]})") == 200);
  CHECK(status(R"({"model":"m","prompt":["a","b"]})") == 422);
  CHECK(status(R"({"model":"m","prompt":[1, 5000]})") == 422);
  CHECK(status(R"({"model":"m","prompt":{"x":1}})") == 400);
  CHECK(status(R"({"model":"m"})") == 400);
  CHECK(status(R"({"model":"m","prompt":"x","echo":true})") == 422);
  // Legacy completions spell logprobs as a count of alternatives.
  CHECK(status(R"({"model":"m","prompt":"x","logprobs":true})") == 400);
  CHECK(status(R"({"model":"m","prompt":"x","logprobs":21})") == 422);
  CHECK(status(R"({"model":"m","prompt":"x","logprobs":-1})") == 422);
  auto lp = parse(R"({"model":"m","prompt":"x","logprobs":3})");
  REQUIRE(std::holds_alternative<CompletionRequest>(lp));
  CHECK(std::get<CompletionRequest>(lp).sampling.logprobs);
  CHECK(std::get<CompletionRequest>(lp).sampling.top_logprobs == 3);
  auto zero = parse(R"({"model":"m","prompt":"x","logprobs":0})");
  REQUIRE(std::holds_alternative<CompletionRequest>(zero));
  CHECK(std::get<CompletionRequest>(zero).sampling.logprobs);
  CHECK(std::get<CompletionRequest>(zero).sampling.top_logprobs == 0);
  auto none = parse(R"({"model":"m","prompt":"x","logprobs":null})");
  REQUIRE(std::holds_alternative<CompletionRequest>(none));
  CHECK(!std::get<CompletionRequest>(none).sampling.logprobs);
}

TEST_CASE("chat logprobs: a flag plus top_logprobs", "[api]") {
  auto parse = [](const std::string& fields) {
    return parse_chat_request(R"({"model":"m","messages":[{"role":"user","content":"x"}],)" +
                                  fields + "}",
                              1000);
  };
  auto ok = parse(R"("logprobs": true, "top_logprobs": 2)");
  REQUIRE(std::holds_alternative<ChatRequest>(ok));
  CHECK(std::get<ChatRequest>(ok).sampling.logprobs);
  CHECK(std::get<ChatRequest>(ok).sampling.top_logprobs == 2);
  auto without = parse(R"("top_logprobs": 2)");
  REQUIRE(std::holds_alternative<ApiError>(without));
  CHECK(std::get<ApiError>(without).status == 422);
  CHECK(std::get<ApiError>(without).param == "top_logprobs");
  auto count = parse(R"("logprobs": 3)");
  REQUIRE(std::holds_alternative<ApiError>(count));
  CHECK(std::get<ApiError>(count).status == 400);
  CHECK(std::get<ApiError>(count).param == "logprobs");
}
