// WriterSlot: hands a ResponseWriter from a test handler (on an I/O thread) to the test's own
// thread, which then answers — the way the daemon's producers answer from theirs.
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>

#include "server/http/response_writer.h"

namespace trimserve::testing {

class WriterSlot {
 public:
  void put(std::shared_ptr<http::ResponseWriter> writer) {
    std::lock_guard lock(mutex_);
    writer_ = std::move(writer);
    ready_.notify_all();
  }

  // The writer put last (taking it out of the slot), or nullptr after `timeout_s`.
  std::shared_ptr<http::ResponseWriter> take(double timeout_s = 2.0) {
    std::unique_lock lock(mutex_);
    ready_.wait_for(lock, std::chrono::duration<double>(timeout_s),
                    [&] { return writer_ != nullptr; });
    return std::move(writer_);
  }

 private:
  std::mutex mutex_;
  std::condition_variable ready_;
  std::shared_ptr<http::ResponseWriter> writer_;
};

}  // namespace trimserve::testing
