#include "scheduler/token_stream.h"

#include <utility>

#include "common/check.h"

namespace trimserve {

TokenStream::TokenStream(size_t capacity) : capacity_(capacity) { TS_CHECK(capacity >= 1); }

bool TokenStream::has_room() const {
  std::lock_guard lock(mu_);
  return events_.size() < capacity_;
}

void TokenStream::push(StreamEvent event) {
  std::function<void()> on_event;
  {
    std::lock_guard lock(mu_);
    on_event = on_event_;
    TS_CHECK_MSG(!done_, "event after the final one");
    if (event.kind != StreamEvent::Kind::kToken) {
      done_ = true;
    } else {
      TS_CHECK_MSG(events_.size() < capacity_, "push without room");
    }
    event.at = std::chrono::steady_clock::now();
    events_.push_back(std::move(event));
  }
  cv_.notify_all();
  if (on_event) on_event();
}

void TokenStream::set_on_event(std::function<void()> on_event) {
  std::function<void()> call_now;
  {
    std::lock_guard lock(mu_);
    on_event_ = std::move(on_event);
    if (!events_.empty()) call_now = on_event_;  // events that arrived before the hook
  }
  if (call_now) call_now();
}

bool TokenStream::cancelled() const {
  std::lock_guard lock(mu_);
  return cancelled_;
}

void TokenStream::set_notify(std::function<void()> notify) {
  std::lock_guard lock(mu_);
  notify_ = std::move(notify);
}

std::optional<StreamEvent> TokenStream::pop(std::chrono::milliseconds timeout) {
  std::function<void()> notify;
  std::optional<StreamEvent> out;
  {
    std::unique_lock lock(mu_);
    if (!cv_.wait_for(lock, timeout, [&] { return !events_.empty(); })) return std::nullopt;
    const bool was_full = events_.size() >= capacity_;
    out = std::move(events_.front());
    events_.pop_front();
    if (was_full) notify = notify_;
  }
  if (notify) notify();  // a paused request may run again
  return out;
}

void TokenStream::cancel() {
  std::function<void()> notify;
  {
    std::lock_guard lock(mu_);
    cancelled_ = true;
    notify = notify_;
  }
  if (notify) notify();
}

bool TokenStream::done() const {
  std::lock_guard lock(mu_);
  return done_;
}

}  // namespace trimserve
