// server/grpc/grpc_status.h and proto_convert.h: the API's errors as gRPC statuses, and proto
// requests read through the HTTP API's own parser (so both transports accept and refuse the
// same values with the same messages).
#include <catch2/catch.hpp>

#include "engine/sampling_params.h"
#include "server/api/api_error.h"
#include "server/api/generation_fields.h"
#include "server/grpc/grpc_status.h"
#include "server/grpc/proto_convert.h"

using namespace trimserve;
using namespace trimserve::grpc_api;

TEST_CASE("API errors map to gRPC status codes by class") {
  CHECK(to_grpc_status(api::bad_request("bad")).error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(to_grpc_status(api::unprocessable("bad")).error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(to_grpc_status(api::not_found_error("gone")).error_code() == grpc::StatusCode::NOT_FOUND);
  const std::pair<ErrorCode, grpc::StatusCode> cases[] = {
      {ErrorCode::kOutOfRange, grpc::StatusCode::INVALID_ARGUMENT},
      {ErrorCode::kFailedPrecondition, grpc::StatusCode::FAILED_PRECONDITION},
      {ErrorCode::kResourceExhausted, grpc::StatusCode::RESOURCE_EXHAUSTED},
      {ErrorCode::kUnavailable, grpc::StatusCode::UNAVAILABLE},
      {ErrorCode::kDeadlineExceeded, grpc::StatusCode::DEADLINE_EXCEEDED},
      {ErrorCode::kPermissionDenied, grpc::StatusCode::PERMISSION_DENIED},
      {ErrorCode::kUnauthenticated, grpc::StatusCode::UNAUTHENTICATED},
      {ErrorCode::kInternal, grpc::StatusCode::INTERNAL},
  };
  for (const auto& [code, want] : cases) {
    INFO(error_code_name(code));
    // through the HTTP status from_status gives it, as every route builds its errors
    CHECK(to_grpc_status(api::from_status(Status(code, "m"))).error_code() == want);
  }
}

TEST_CASE("a full queue is 503 over HTTP but RESOURCE_EXHAUSTED over gRPC") {
  api::ApiError e = api::from_status(Status(ErrorCode::kUnavailable, "queue full"));
  CHECK(e.status == 503);
  e.kind = ErrorCode::kResourceExhausted;
  CHECK(to_grpc_status(e).error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED);
}

TEST_CASE("the status message names the field the message does not mention") {
  CHECK(to_grpc_status(api::unprocessable("must be >= 1", "kv_budget")).error_message() ==
        "kv_budget: must be >= 1");
  CHECK(to_grpc_status(api::unprocessable("kv_budget must be >= 1", "kv_budget")).error_message() ==
        "kv_budget must be >= 1");
  CHECK(to_grpc_status(api::bad_request("no body")).error_message() == "no body");
}

TEST_CASE("unset proto fields leave the HTTP defaults; set ones arrive under their JSON names") {
  v1::SamplingParams s;
  v1::KvOptions kv;
  CHECK(generation_json(s, kv, "").empty());

  s.set_max_tokens(7);
  s.set_temperature(0.5f);
  s.set_top_k(3);
  s.set_seed(-4);
  s.add_stop("\n\n");
  s.set_logprobs(true);
  s.set_top_logprobs(2);
  s.set_ignore_eos(true);
  kv.set_policy("trimkv");
  kv.set_budget(64);
  const nlohmann::json j = generation_json(s, kv, "chat-1");
  api::GenerationFields f;
  REQUIRE_FALSE(api::parse_generation_fields(j, 1000, /*text_completion=*/false, f));
  CHECK(f.max_tokens_given);
  CHECK(f.sampling.max_tokens == 7);
  CHECK(f.sampling.temperature == Approx(0.5));
  CHECK(f.sampling.top_k == 3);
  CHECK(f.sampling.seed == static_cast<uint64_t>(int64_t{-4}));
  CHECK(f.sampling.stop == std::vector<std::string>{"\n\n"});
  CHECK(f.sampling.logprobs);
  CHECK(f.sampling.top_logprobs == 2);
  CHECK(f.sampling.ignore_eos);
  CHECK(f.kv.policy == std::optional<std::string>("trimkv"));
  CHECK(f.kv.budget == std::optional<int64_t>(64));
  CHECK(f.session_id == std::optional<std::string>("chat-1"));
}

TEST_CASE("proto values out of range get the HTTP API's refusal") {
  v1::SamplingParams s;
  s.set_top_p(1.5f);
  api::GenerationFields f;
  auto e = api::parse_generation_fields(generation_json(s, {}, ""), 1000, false, f);
  REQUIRE(e);
  CHECK(e->param == "top_p");
  CHECK(to_grpc_status(*e).error_code() == grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_CASE("chat messages become the JSON messages chat_messages checks") {
  google::protobuf::RepeatedPtrField<v1::ChatMessage> messages;
  v1::ChatMessage* m = messages.Add();
  m->set_role("user");
  m->set_content("hi");
  CHECK(messages_json(messages) == nlohmann::json::parse(R"([{"role":"user","content":"hi"}])"));
}

TEST_CASE("token events fill a chunk; logprobs only when asked for") {
  StreamEvent e;
  e.token = 5;
  e.text = "ab";
  SampleResult r;
  r.token = 5;
  r.logprob = -0.25f;
  r.top_logprobs = {{5, -0.25f}, {9, -2.0f}};
  e.logprobs = r;
  v1::GenerateChunk chunk;
  add_token(chunk, e, nullptr);
  e.text = "c";
  add_token(chunk, e, nullptr);
  CHECK(chunk.token_ids_size() == 2);
  CHECK(chunk.text() == "abc");
  CHECK(chunk.logprobs_size() == 0);

  StreamUsage u{10, 2, 4};
  set_usage(*chunk.mutable_usage(), u);
  CHECK(chunk.usage().prompt_tokens() == 10);
  CHECK(chunk.usage().completion_tokens() == 2);
  CHECK(chunk.usage().cached_tokens() == 4);
}
