// Counter: a monotonically increasing value (requests served, tokens generated). Prometheus
// derives rates from it, so it may never go down: inc() with a negative or NaN amount is a bug
// in the caller (TS_CHECK), not something to clamp silently.
//
// Threading: every method may be called from any thread at any time. The value is a single
// atomic, so an update costs one compare-and-swap and never blocks a scrape.
#pragma once

#include <atomic>

namespace trimserve::metrics {

class Counter {
 public:
  Counter() = default;
  Counter(const Counter&) = delete;
  Counter& operator=(const Counter&) = delete;

  // Adds `v` (>= 0; +Inf is accepted and sticks). Integer steps stay exact up to 2^53.
  void inc(double v = 1.0);
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

}  // namespace trimserve::metrics
