// Histogram: observations (latencies, token counts) counted into fixed buckets, plus their
// sum and count, exported the Prometheus way: cumulative `_bucket{le="..."}` series ending
// in le="+Inf", then `_sum` and `_count`.
//
// Buckets are upper bounds, inclusive: an observation equal to a bound counts in that
// bound's bucket (le = "less than or equal"). The bounds given must be finite and strictly
// increasing (TS_CHECK: they are code); a trailing +Inf may be given and is dropped, since
// the +Inf bucket always exists. NaN observations count in the +Inf bucket only and make the
// sum NaN, as in the reference Go client.
//
// Threading: observe() and snapshot() may be called from any thread at any time. One mutex
// per histogram makes a snapshot consistent: its buckets, sum and count describe the same
// set of observations, so a scrape never shows `_count` != the +Inf bucket. The critical
// section is a few additions, so contention costs little at serving rates.
#pragma once

#include <cstdint>
#include <mutex>
#include <vector>

namespace trimserve::metrics {

class Histogram {
 public:
  // What one instant of a histogram looks like.
  struct Snapshot {
    std::vector<double> bounds;       // finite upper bounds, increasing (no +Inf)
    std::vector<uint64_t> cumulative;  // bounds.size() + 1 entries; the last is the +Inf bucket
    double sum = 0.0;
    uint64_t count = 0;  // always == cumulative.back()
  };

  explicit Histogram(std::vector<double> bounds);
  Histogram(const Histogram&) = delete;
  Histogram& operator=(const Histogram&) = delete;

  void observe(double v);
  Snapshot snapshot() const;
  const std::vector<double>& bounds() const { return bounds_; }

  // The bounds a Histogram built from `bounds` uses (a trailing +Inf dropped), checked.
  static std::vector<double> normalize_bounds(std::vector<double> bounds);

 private:
  const std::vector<double> bounds_;
  mutable std::mutex mutex_;
  std::vector<uint64_t> counts_;  // per bucket, not cumulative; guarded by mutex_
  double sum_ = 0.0;              // guarded by mutex_
};

}  // namespace trimserve::metrics
