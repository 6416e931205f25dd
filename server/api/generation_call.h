// GenerationCall: one /v1/chat/completions or /v1/completions request in flight, between the
// engine loop's TokenStream and the client's HTTP connection — without a thread of its own.
//
// The stream's on_event hook and the writer's `written` callbacks drive pump(): it takes one
// event at a time and writes it only after the previous write was accepted by the socket, so
// a slow reader leaves events in the bounded TokenStream, which pauses this request in the
// engine loop (and nothing else). The client going away cancels the stream; the loop frees the
// sequence at its next iteration.
//
// Non-streaming calls collect the text and answer once. Streaming calls start the SSE
// response at the first token, so an error that comes first (a busy session, no KV room, the
// deadline) is still a proper HTTP error status; an error after tokens is sent as an SSE error
// event. Logprobs, when asked for, travel with the text they belong to: a token whose text is
// held back (a partial character, a possible stop string) has its logprobs sent with the next
// chunk that carries text, or with the finish chunk.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "engine/tokenizer.h"
#include "scheduler/token_stream.h"
#include "server/api/call_record.h"
#include "server/api/chat_response.h"
#include "server/api/logprobs_json.h"
#include "server/http/http_server.h"

namespace trimserve::api {

struct CallSpec {
  CompletionIds ids;
  bool stream = false;
  bool include_usage = false;
  std::string tenant;
  std::chrono::steady_clock::time_point started;  // when the request arrived
  int64_t prompt_tokens = 0;
  // Non-null: the request asked for logprobs; renders them (must outlive the call).
  const Tokenizer* logprobs_tokenizer = nullptr;
};

class GenerationCall : public std::enable_shared_from_this<GenerationCall> {
 public:
  // `observer` (may be empty) gets the CallRecord.
  GenerationCall(std::shared_ptr<TokenStream> stream, std::shared_ptr<http::ResponseWriter> writer,
                 CallSpec spec, CallObserver observer);

  // Hooks the stream and the writer up; call once.
  void start();

 private:
  void pump();
  // Writes `data` (streaming) and continues pumping once the socket took it.
  void write_then_pump(std::string data);
  void finish_stream(const StreamEvent& e);
  // The logprobs of the tokens since the last call (null when not asked for or none).
  nlohmann::json take_logprobs();

  std::shared_ptr<TokenStream> stream_;
  std::shared_ptr<http::ResponseWriter> writer_;
  CallSpec spec_;

  // Held for a whole pump(): the loop thread (on_event) and the connection's strand (written)
  // both pump, and events must reach the socket in order. Recursive in case a writer runs a
  // `written` callback inline.
  std::recursive_mutex mu_;
  bool writing_ = false;   // a streamed write is in flight
  bool started_ = false;   // SSE headers sent
  bool done_ = false;
  std::string text_;       // non-streaming: the answer so far
  std::optional<LogprobsJson> logprobs_;
  CallLedger ledger_;
};

}  // namespace trimserve::api
