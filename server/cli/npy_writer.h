// Writes a float32 NumPy .npy file (format version 1.0, little-endian, C order), the format
// `trimserve generate --logits-out` promises (row i = logits the i-th generated token was
// sampled from) and that numpy.load reads.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"

namespace trimserve::cli {

// data holds rows * cols floats. Errors: the file cannot be written (kNotFound/kInternal with
// the path and errno text).
Status write_npy_f32(const std::string& path, const std::vector<float>& data, int64_t rows,
                     int64_t cols);

}  // namespace trimserve::cli
