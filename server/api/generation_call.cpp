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
      observer_(std::move(observer)) {
  if (spec_.logprobs_tokenizer != nullptr) {
    logprobs_.emplace(*spec_.logprobs_tokenizer, spec_.ids.text_completion);
  }
}

void GenerationCall::record(int status, const std::string& finish, const StreamUsage& usage) {
  if (recorded_) return;
  recorded_ = true;
  CallRecord r;
  r.id = spec_.ids.id;
  r.tenant = spec_.tenant;
  r.status = status;
  r.finish = finish;
  r.usage = usage;
  r.tokens_streamed = tokens_;
  r.ttft_s = ttft_s_;
  r.e2e_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - spec_.started).count();
  report_call(r, observer_);
}

StreamUsage GenerationCall::partial_usage() const {
  StreamUsage u;
  u.prompt_tokens = spec_.prompt_tokens;
  u.completion_tokens = tokens_;
  return u;
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
      std::lock_guard lock(c->mu_);
      if (!c->done_) c->record(499, "cancelled", c->partial_usage());  // client closed request
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
      ++tokens_;
      if (ttft_s_ < 0) {
        ttft_s_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - spec_.started)
                      .count();
      }
      if (logprobs_ && e->logprobs) logprobs_->add(*e->logprobs);
    }
    if (e->kind == StreamEvent::Kind::kError) {
      const ApiError err = from_status(e->error);
      record(started_ ? 200 : err.status, "error", partial_usage());
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
        record(200, finish_reason_name(e->finish), e->usage);
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
      record(200, finish_reason_name(e->finish), e->usage);
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
