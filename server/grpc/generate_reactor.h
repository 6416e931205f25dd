// GenerateReactor: one Generate or Chat call in flight, between the engine loop's TokenStream
// and the gRPC client — the gRPC counterpart of api::GenerationCall, without a thread of its
// own (the gRPC callback API).
//
// Flow control: at most one write is in flight. While the client has not taken the last
// chunk, events stay in the bounded TokenStream, which pauses this request in the engine loop
// and nothing else; the tokens that queued up meanwhile go out together in the next chunk.
// The last chunk carries the finish reason and usage and is written with the OK status.
// An engine error ends the call with its status (after the chunks already sent). A client
// that cancels, goes away or passes its deadline cancels the stream: the loop frees the
// sequence at its next iteration.
//
// Lifetime: owned by itself (a shared_ptr released in OnDone) and by the stream's event hook
// while one runs, so a hook racing with OnDone never touches a deleted reactor; nothing calls
// gRPC after OnDone.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include <grpcpp/grpcpp.h>

#include "engine/tokenizer.h"
#include "scheduler/token_stream.h"
#include "server/api/call_record.h"
#include "trimserve.pb.h"

namespace trimserve::grpc_api {

struct GenerateSpec {
  std::string id;      // the request's id (access log, every chunk)
  std::string tenant;
  std::chrono::steady_clock::time_point started;  // when the call arrived
  int64_t prompt_tokens = 0;
  const Tokenizer* logprobs_tokenizer = nullptr;  // non-null: the call asked for logprobs
};

class GenerateReactor : public grpc::ServerWriteReactor<v1::GenerateChunk> {
 public:
  // Starts streaming `stream`'s events to the client; `observer` gets the CallRecord once.
  static GenerateReactor* start(std::shared_ptr<TokenStream> stream, GenerateSpec spec,
                                api::CallObserver observer);

  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;

 private:
  GenerateReactor(std::shared_ptr<TokenStream> stream, GenerateSpec spec,
                  api::CallObserver observer);
  // Sends what the stream holds unless a write is in flight; with mu_ held.
  void pump_locked();
  void pump();
  // Ends the call as cancelled (the client's doing), once.
  void cancel_locked();

  std::shared_ptr<TokenStream> stream_;
  GenerateSpec spec_;
  std::shared_ptr<GenerateReactor> self_;  // released in OnDone

  std::mutex mu_;
  v1::GenerateChunk chunk_;  // the chunk being written (must live until OnWriteDone)
  std::optional<StreamEvent> held_;  // a final error popped while tokens were still unsent
  bool writing_ = false;
  bool finishing_ = false;  // Finish (or StartWriteAndFinish) was called
  bool cancelled_ = false;  // OnCancel or a failed write: finish as soon as no write is in flight
  bool done_ = false;       // OnDone ran: no more gRPC calls
  api::CallLedger ledger_;
};

}  // namespace trimserve::grpc_api
