// DeviceBuffer: an owned cudaMalloc'd allocation (move-only), and the CUDA_CHECK /
// device-query helpers the CUDA engine builds on. Errors from CUDA calls that depend on the
// environment (no device, out of memory) come back as Status; programming errors abort with
// file:line (DESIGN.md §7.10).
#pragma once

#include <cstddef>
#include <string>

#include "common/status.h"

namespace trimserve::cuda {

// Number of visible CUDA devices; 0 when there is no driver or no device (never an error).
int device_count();

// "NVIDIA H100 80GB HBM3 (sm_90, 79.1 GiB)" for device `index`.
Result<std::string> describe_device(int index);

class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  static Result<DeviceBuffer> allocate(size_t bytes);
  ~DeviceBuffer();
  DeviceBuffer(DeviceBuffer&& other) noexcept;
  DeviceBuffer& operator=(DeviceBuffer&& other) noexcept;
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;

  void* data() const { return ptr_; }
  size_t bytes() const { return bytes_; }

  Status copy_from_host(const void* src, size_t bytes);
  Status copy_to_host(void* dst, size_t bytes) const;

 private:
  void* ptr_ = nullptr;
  size_t bytes_ = 0;
};

}  // namespace trimserve::cuda
