#include "server/metrics/histogram.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "common/check.h"

namespace trimserve::metrics {

std::vector<double> Histogram::normalize_bounds(std::vector<double> bounds) {
  if (!bounds.empty() && bounds.back() == INFINITY) bounds.pop_back();
  for (size_t i = 0; i < bounds.size(); ++i) {
    TS_CHECK_MSG(std::isfinite(bounds[i]), "histogram bounds must be finite");
    if (i > 0) TS_CHECK_MSG(bounds[i - 1] < bounds[i], "histogram bounds must increase");
  }
  return bounds;
}

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(normalize_bounds(std::move(bounds))), counts_(bounds_.size() + 1, 0) {}

void Histogram::observe(double v) {
  // The first bound >= v (searched outside the lock: bounds_ never changes). NaN is sent to
  // the +Inf bucket explicitly: lower_bound would put it in the first one, as NaN < x is false.
  size_t bucket = bounds_.size();
  if (!std::isnan(v)) {
    bucket = std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin();
  }
  std::lock_guard lock(mutex_);
  ++counts_[bucket];
  sum_ += v;
}

Histogram::Snapshot Histogram::snapshot() const {
  Snapshot snap;
  snap.bounds = bounds_;
  {
    std::lock_guard lock(mutex_);
    snap.cumulative = counts_;
    snap.sum = sum_;
  }
  // Accumulated after the copy so the lock covers only the copy.
  for (size_t i = 1; i < snap.cumulative.size(); ++i) snap.cumulative[i] += snap.cumulative[i - 1];
  snap.count = snap.cumulative.back();
  return snap;
}

}  // namespace trimserve::metrics
