#include "server/metrics/counter.h"

#include "common/check.h"

namespace trimserve::metrics {

void Counter::inc(double v) {
  // Written so that NaN fails too: a NaN would poison the counter for the process's life.
  TS_CHECK_MSG(v >= 0.0, "a counter only goes up");
  // Relaxed: a counter orders nothing else; a scrape only needs some recent value.
  value_.fetch_add(v, std::memory_order_relaxed);
}

}  // namespace trimserve::metrics
