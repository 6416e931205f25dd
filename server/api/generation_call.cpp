#include "server/api/generation_call.h"

#include <chrono>

#include "server/api/api_error.h"

namespace trimserve::api {

GenerationCall::GenerationCall(std::shared_ptr<TokenStream> stream,
                               std::shared_ptr<http::ResponseWriter> writer, CallSpec spec,
                               CallObserver observer)
    : stream_(std::move(stream)),
      writer_(std::move(writer)),
      spec_(std::move(spec)),
      ledger_(spec_.ids.id, spec_.tenant, spec_.started, spec_.prompt_tokens,
              std::move(observer)) {
  if (spec_.logprobs_tokenizer != nullptr) {
    logprobs_.emplace(*spec_.logprobs_tokenizer, spec_.ids.text_completion);
  }
}

nlohmann::json GenerationCall::take_logprobs() {
  return logprobs_ ? logprobs_->take() : nlohmann::json(nullptr);
}

void GenerationCall::start() {
  std::weak_ptr<TokenStream> weak_stream = stream_;
  std::weak_ptr<GenerationCall> weak_call = weak_from_this();
  writer_->on_close([weak_stream, weak_call] {
    if (auto s = weak_stream.lock()) s->cancel();
    if (auto c = weak_call.lock()) {
      {
        std::lock_guard lock(c->mu_);
        // 499: the client closed the request
        if (!c->done_) c->ledger_.finish(499, "cancelled", c->ledger_.partial_usage());
        c->done_ = true;  // nothing can reach the client any more
      }
      // Releases this call now: a write in flight when the client left never reports back,
      // so pump() would wait on writing_ forever and the stream's hook would keep the call
      // (and through its writer, the connection) alive in a cycle. LeakSanitizer found it.
      c->stream_->set_on_event({});
    }
  });
  // The hook keeps this call alive until the stream is done.
  stream_->set_on_event([self = shared_from_this()] { self->pump(); });
}

void GenerationCall::write_then_pump(std::string data) {
  writer_->write(std::move(data), [self = shared_from_this()] {
    {
      std::lock_guard lock(self->mu_);
      self->writing_ = false;
    }
    self->pump();
  });
}

void GenerationCall::finish_stream(const StreamEvent& e) {
  std::string tail;
  if (!e.text.empty()) tail += sse_content_chunk(spec_.ids, e.text, take_logprobs());
  tail += sse_finish_chunk(spec_.ids, e.finish, take_logprobs());
  if (spec_.include_usage) tail += sse_usage_chunk(spec_.ids, e.usage);
  tail += kSseDone;
  writer_->write(std::move(tail));
  writer_->end();
}

void GenerationCall::pump() {
  std::lock_guard lock(mu_);
  while (!done_ && !writing_) {
    std::optional<StreamEvent> e = stream_->pop(std::chrono::milliseconds(0));
    if (!e) return;
    if (e->kind != StreamEvent::Kind::kToken) done_ = true;
    if (e->kind == StreamEvent::Kind::kToken) {
      ledger_.token();
      if (logprobs_ && e->logprobs) logprobs_->add(*e->logprobs);
    }
    if (e->kind == StreamEvent::Kind::kError) {
      const ApiError err = from_status(e->error);
      ledger_.finish(started_ ? 200 : err.status, "error", ledger_.partial_usage());
      if (started_) {
        writer_->write(sse_error(error_body(err)));
        writer_->end();
      } else {
        send_error(*writer_, err);
      }
      stream_->set_on_event({});  // releases this call
      return;
    }
    if (!spec_.stream) {
      text_ += e->text;
      if (e->kind == StreamEvent::Kind::kFinished) {
        ledger_.finish(200, finish_reason_name(e->finish), e->usage);
        writer_->send(200, "application/json",
                      chat_completion(spec_.ids, text_, e->finish, e->usage, take_logprobs()));
        stream_->set_on_event({});
      }
      continue;
    }
    std::string data;
    if (!started_) {
      started_ = true;
      writer_->begin_stream(200, "text/event-stream", {{"Cache-Control", "no-cache"}});
      data += sse_role_chunk(spec_.ids);
    }
    if (e->kind == StreamEvent::Kind::kFinished) {
      ledger_.finish(200, finish_reason_name(e->finish), e->usage);
      if (!data.empty()) writer_->write(std::move(data));
      finish_stream(*e);
      stream_->set_on_event({});
      return;
    }
    if (!e->text.empty()) data += sse_content_chunk(spec_.ids, e->text, take_logprobs());
    if (data.empty()) continue;  // text held back (a partial character or stop string)
    writing_ = true;
    write_then_pump(std::move(data));
  }
}

}  // namespace trimserve::api
