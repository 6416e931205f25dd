// Proto messages to and from the API's shared forms. A gRPC request goes through exactly the
// HTTP API's parsing and validation — there is no second copy of the rules: its sampling, KV
// and session fields become the JSON object of a chat completion request, read by
// parse_generation_fields (generation_fields.h); its messages become `messages` for
// chat_messages (chat_request.h). Proto field names are the JSON names, so the errors name
// the same fields.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "engine/tokenizer.h"
#include "scheduler/token_stream.h"
#include "trimserve.pb.h"

namespace trimserve::grpc_api {

// {"max_tokens", "temperature", ..., "kv_policy", "kv_budget", "session_id"} with the fields
// the request set (unset optional fields are left out, so the HTTP defaults apply).
nlohmann::json generation_json(const v1::SamplingParams& sampling, const v1::KvOptions& kv,
                               const std::string& session_id);

// [{"role", "content"}, ...]
nlohmann::json messages_json(const google::protobuf::RepeatedPtrField<v1::ChatMessage>& messages);

// Appends a token event (its id, text delta and, with `logprobs_tokenizer` set, its logprobs)
// to `chunk`.
void add_token(v1::GenerateChunk& chunk, const StreamEvent& token, const Tokenizer* logprobs_tokenizer);

void set_usage(v1::Usage& out, const StreamUsage& usage);

}  // namespace trimserve::grpc_api
