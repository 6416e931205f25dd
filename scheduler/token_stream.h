// TokenStream: one request's output, from the engine loop (producer) to the transport that
// serves the client (consumer) — HTTP SSE, gRPC, or a test.
//
// Bounded: the loop only schedules a request while its stream has room (has_room()), so a
// slow reader pauses its own request and never the engine (DESIGN.md §5, issue 5). The final
// event (finished or error) is always accepted. The consumer cancels when its client goes
// away; the loop sees cancelled() at its next iteration and frees the sequence.
//
// Threading: push/has_room/cancelled from the loop thread; pop/cancel from one consumer
// thread. Everything is guarded by one mutex; pop blocks on a condition variable.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>

#include "common/status.h"
#include "engine/sampler.h"
#include "engine/stop_matcher.h"

namespace trimserve {

struct StreamUsage {
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
  int64_t cached_tokens = 0;  // prompt tokens served from a session's cache
};

struct StreamEvent {
  enum class Kind { kToken, kFinished, kError };
  Kind kind = Kind::kToken;
  int32_t token = 0;      // kToken
  std::string text;       // kToken: visible text delta; kFinished: held-back text, if any
  std::optional<SampleResult> logprobs;       // kToken, when the request asked for logprobs
  FinishReason finish = FinishReason::kNone;  // kFinished
  int32_t stop_index = -1;                    // kFinished by a stop string
  StreamUsage usage;                          // kFinished
  Status error;                               // kError
  std::chrono::steady_clock::time_point at;   // when the loop pushed it (set by push)
};

class TokenStream {
 public:
  explicit TokenStream(size_t capacity);

  // Loop side. push() of a token needs has_room(); finished/error events always fit.
  bool has_room() const;
  void push(StreamEvent event);
  bool cancelled() const;
  // Wakes the loop when the consumer frees room or cancels (set by the loop once).
  void set_notify(std::function<void()> notify);

  // Consumer side. `on_event` runs (on the loop thread, outside the stream's lock) after every
  // push, so an asynchronous consumer (an HTTP connection) can pop without blocking a thread.
  void set_on_event(std::function<void()> on_event);
  // The next event, waiting up to `timeout` (0: do not wait); nullopt when there is none.
  std::optional<StreamEvent> pop(std::chrono::milliseconds timeout);
  void cancel();
  bool done() const;  // the final event was pushed

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<StreamEvent> events_;
  size_t capacity_;
  bool cancelled_ = false;
  bool done_ = false;
  std::function<void()> notify_;
  std::function<void()> on_event_;
};

}  // namespace trimserve
