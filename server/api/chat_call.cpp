#include "server/api/chat_call.h"

#include <chrono>

#include "server/api/api_error.h"

namespace trimserve::api {


ChatCall::ChatCall(std::shared_ptr<TokenStream> stream,
                   std::shared_ptr<http::ResponseWriter> writer, CompletionIds ids,
                   bool stream_response, bool include_usage)
    : stream_(std::move(stream)),
      writer_(std::move(writer)),
      ids_(std::move(ids)),
      streaming_(stream_response),
      include_usage_(include_usage) {}

void ChatCall::start() {
  std::weak_ptr<TokenStream> weak_stream = stream_;
  writer_->on_close([weak_stream] {
    if (auto s = weak_stream.lock()) s->cancel();
  });
  // The hook keeps this call alive until the stream is done.
  stream_->set_on_event([self = shared_from_this()] { self->pump(); });
}

void ChatCall::write_then_pump(std::string data) {
  writer_->write(std::move(data), [self = shared_from_this()] {
    {
      std::lock_guard lock(self->mu_);
      self->writing_ = false;
    }
    self->pump();
  });
}

void ChatCall::finish_stream(const StreamEvent& e) {
  std::string tail;
  if (!e.text.empty()) tail += sse_content_chunk(ids_, e.text);
  tail += sse_finish_chunk(ids_, e.finish);
  if (include_usage_) tail += sse_usage_chunk(ids_, e.usage);
  tail += kSseDone;
  writer_->write(std::move(tail));
  writer_->end();
}

void ChatCall::pump() {
  std::lock_guard lock(mu_);
  while (!done_ && !writing_) {
    std::optional<StreamEvent> e = stream_->pop(std::chrono::milliseconds(0));
    if (!e) return;
    if (e->kind != StreamEvent::Kind::kToken) done_ = true;
    if (e->kind == StreamEvent::Kind::kError) {
      const ApiError err = from_status(e->error);
      if (started_) {
        writer_->write(sse_error(error_body(err)));
        writer_->end();
      } else {
        send_error(*writer_, err);
      }
      stream_->set_on_event({});  // releases this call
      return;
    }
    if (!streaming_) {
      text_ += e->text;
      if (e->kind == StreamEvent::Kind::kFinished) {
        writer_->send(200, "application/json", chat_completion(ids_, text_, e->finish, e->usage));
        stream_->set_on_event({});
      }
      continue;
    }
    std::string data;
    if (!started_) {
      started_ = true;
      writer_->begin_stream(200, "text/event-stream", {{"Cache-Control", "no-cache"}});
      data += sse_role_chunk(ids_);
    }
    if (e->kind == StreamEvent::Kind::kFinished) {
      if (!data.empty()) writer_->write(std::move(data));
      finish_stream(*e);
      stream_->set_on_event({});
      return;
    }
    if (!e->text.empty()) data += sse_content_chunk(ids_, e->text);
    if (data.empty()) continue;  // text held back (a partial character or stop string)
    writing_ = true;
    write_then_pump(std::move(data));
  }
}

}  // namespace trimserve::api
