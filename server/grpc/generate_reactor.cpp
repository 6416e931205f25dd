#include "server/grpc/generate_reactor.h"

#include "server/api/api_error.h"
#include "server/grpc/grpc_status.h"
#include "server/grpc/proto_convert.h"

namespace trimserve::grpc_api {

GenerateReactor::GenerateReactor(std::shared_ptr<TokenStream> stream, GenerateSpec spec,
                                 api::CallObserver observer)
    : stream_(std::move(stream)),
      spec_(std::move(spec)),
      ledger_(spec_.id, spec_.tenant, spec_.started, spec_.prompt_tokens, std::move(observer)) {}

GenerateReactor* GenerateReactor::start(std::shared_ptr<TokenStream> stream, GenerateSpec spec,
                                        api::CallObserver observer) {
  std::shared_ptr<GenerateReactor> r(
      new GenerateReactor(std::move(stream), std::move(spec), std::move(observer)));
  r->self_ = r;
  // The hook runs on the engine loop's thread after every push.
  r->stream_->set_on_event([self = r] { self->pump(); });
  r->pump();  // events may have arrived before the hook was set
  return r.get();
}

void GenerateReactor::pump() {
  std::lock_guard lock(mu_);
  pump_locked();
}

void GenerateReactor::pump_locked() {
  if (done_ || finishing_ || writing_) return;
  chunk_.Clear();
  int tokens_in_chunk = 0;
  std::optional<StreamEvent> e = std::move(held_);
  held_.reset();
  if (!e) e = stream_->pop(std::chrono::milliseconds(0));
  for (; e; e = stream_->pop(std::chrono::milliseconds(0))) {
    if (e->kind == StreamEvent::Kind::kToken) {
      ledger_.token();
      ++tokens_in_chunk;
      add_token(chunk_, *e, spec_.logprobs_tokenizer);
      continue;
    }
    if (e->kind == StreamEvent::Kind::kFinished) {
      chunk_.mutable_text()->append(e->text);  // text held back until the end, if any
      chunk_.set_finish_reason(finish_reason_name(e->finish));
      set_usage(*chunk_.mutable_usage(), e->usage);
      chunk_.set_id(spec_.id);
      ledger_.finish(200, finish_reason_name(e->finish), e->usage);
      finishing_ = true;
      StartWriteAndFinish(&chunk_, grpc::WriteOptions(), grpc::Status::OK);
      return;
    }
    // An error: the tokens before it go out first.
    if (tokens_in_chunk > 0) {
      held_ = std::move(e);
      break;
    }
    const api::ApiError err = api::from_status(e->error);
    ledger_.finish(err.status, "error", ledger_.partial_usage());
    finishing_ = true;
    Finish(to_grpc_status(err));
    return;
  }
  if (tokens_in_chunk == 0) return;
  chunk_.set_id(spec_.id);
  writing_ = true;
  StartWrite(&chunk_);
}

void GenerateReactor::cancel_locked() {
  // Remembered: a write in flight may still complete with ok = true after the cancel, and the
  // loop pushes nothing more to a cancelled stream, so its OnWriteDone must finish the call.
  cancelled_ = true;
  stream_->cancel();
  ledger_.finish(499, "cancelled", ledger_.partial_usage());  // 499: the client closed it
  if (!finishing_ && !writing_) {
    finishing_ = true;
    Finish(grpc::Status(grpc::StatusCode::CANCELLED, "the call was cancelled"));
  }
}

void GenerateReactor::OnWriteDone(bool ok) {
  std::lock_guard lock(mu_);
  writing_ = false;
  if (!ok || cancelled_) return cancel_locked();  // the client is gone or cancelled
  pump_locked();
}

void GenerateReactor::OnCancel() {
  std::lock_guard lock(mu_);
  cancel_locked();
}

void GenerateReactor::OnDone() {
  {
    std::lock_guard lock(mu_);
    done_ = true;
  }
  // Outside mu_: the stream's lock is taken in the other order by a running hook.
  stream_->set_on_event({});
  stream_->cancel();  // no-op for a finished stream; frees the sequence otherwise
  self_.reset();      // may delete this
}

}  // namespace trimserve::grpc_api
