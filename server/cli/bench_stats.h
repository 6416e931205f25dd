// Small statistics shared by the `trimserve bench` subcommands, so every benchmark reports
// percentiles the same way (a p99 in one table means what it means in the others).
#pragma once

#include <algorithm>
#include <cstddef>
#include <numeric>
#include <vector>

namespace trimserve::cli {

// The nearest-rank percentile of `v` for p in [0, 1] (index round(p * (n - 1)) of the sorted
// values, no interpolation, so the result is always one of the measured values); 0 for an
// empty vector. Takes `v` by value because it sorts.
inline double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const auto i = static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

// The arithmetic mean; 0 for an empty vector.
inline double mean(const std::vector<double>& v) {
  if (v.empty()) return 0;
  return std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
}

}  // namespace trimserve::cli
