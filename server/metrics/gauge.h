// Gauge: a value that goes up and down (requests running, KV cache usage). Either updated
// as events happen (add(+1) / add(-1)) or set from live state, typically in a Registry
// on_scrape() callback so that the exported value is fresh at scrape time.
//
// Threading: every method may be called from any thread at any time (one atomic; set() and
// add() never block and never block a scrape). Any double is allowed, NaN and infinities
// included; they are exported as Prometheus spells them.
#pragma once

#include <atomic>

namespace trimserve::metrics {

class Gauge {
 public:
  Gauge() = default;
  Gauge(const Gauge&) = delete;
  Gauge& operator=(const Gauge&) = delete;

  void set(double v) { value_.store(v, std::memory_order_relaxed); }
  void add(double v) { value_.fetch_add(v, std::memory_order_relaxed); }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

}  // namespace trimserve::metrics
