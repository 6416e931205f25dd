// Tensor: an owned, contiguous, row-major f32 array with its shape. The CPU engine computes
// in f32 (DESIGN.md §3: f32 accumulation), so weights stored as bf16/f16 are widened once at
// load time.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace trimserve {

struct Tensor {
  std::vector<int64_t> shape;
  std::vector<float> data;

  bool empty() const { return data.empty(); }
  int64_t dim(size_t i) const { return shape.at(i); }
  int64_t numel() const {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    return n;
  }
  const float* ptr() const { return data.data(); }
  float* ptr() { return data.data(); }
};

// "[256, 64]"
std::string shape_to_string(const std::vector<int64_t>& shape);

}  // namespace trimserve
