// ChatClient: one multi-turn conversation with a trimserve daemon over gRPC (Chat streaming),
// the engine behind `trimserve client`.
//
// It keeps the conversation's messages and sends them all every turn with one session id, so
// the daemon reuses the session's compressed KV cache for everything but the new turn
// (cached_tokens in the reply's usage). reset() forgets the history, deletes the session on
// the server and starts a new id. Not thread-safe: one conversation, one thread.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "common/status.h"
#include "trimserve.grpc.pb.h"

namespace trimserve::cli {

struct ChatClientOptions {
  std::string api_key;     // sent as `authorization: Bearer <key>` when set
  std::string model;       // empty: the served model
  std::string session_id;  // empty: a fresh random id
  bool keep_session = true;  // false: send no session id (a one-off turn leaves nothing behind)
  std::string system;      // a system message first, when set
  v1::SamplingParams sampling;
  v1::KvOptions kv;        // policy / budget per request (server defaults when unset)
  std::chrono::seconds timeout{600};  // per call
};

struct TurnResult {
  std::string text;
  std::vector<int32_t> token_ids;
  std::string finish_reason;
  v1::Usage usage;
  std::string request_id;
};

class ChatClient {
 public:
  ChatClient(std::shared_ptr<grpc::Channel> channel, ChatClientOptions options);

  // Sends `user` as the next turn; `on_text` gets each text delta as it arrives. On success
  // the reply joins the history; on failure the history is unchanged (the turn can be
  // retried). Errors carry the gRPC status ("UNAVAILABLE: ...").
  Result<TurnResult> turn(const std::string& user,
                          const std::function<void(const std::string&)>& on_text);

  // Deletes the session on the server (a session that never existed is fine), clears the
  // history and takes a new session id.
  Status reset();

  Result<v1::SessionInfo> session_info();

  const std::string& session_id() const { return options_.session_id; }
  size_t turns() const { return history_.size() / 2; }

 private:
  void prepare(grpc::ClientContext& context) const;

  std::unique_ptr<v1::Inference::Stub> stub_;
  ChatClientOptions options_;
  std::vector<v1::ChatMessage> history_;  // user, assistant, user, assistant, ...
};

// "CODE: message" of a failed call, as a Status of the matching class.
Status from_grpc_status(const grpc::Status& s);

}  // namespace trimserve::cli
