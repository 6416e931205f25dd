#include "engine/cuda/device_buffer.h"

#include <cuda_runtime.h>

#include <cstdio>
#include <utility>

namespace trimserve::cuda {

namespace {
Status from_cuda(cudaError_t err, const char* what) {
  if (err == cudaSuccess) return Status();
  return Status(err == cudaErrorMemoryAllocation ? ErrorCode::kResourceExhausted
                                                 : ErrorCode::kUnavailable,
                std::string(what) + ": " + cudaGetErrorString(err));
}
}  // namespace

int device_count() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    cudaGetLastError();  // clear the sticky "no device" error
    return 0;
  }
  return n;
}

Result<std::string> describe_device(int index) {
  cudaDeviceProp prop{};
  TS_RETURN_IF_ERROR(from_cuda(cudaGetDeviceProperties(&prop, index), "cudaGetDeviceProperties"));
  char buf[256];
  std::snprintf(buf, sizeof buf, "%s (sm_%d%d, %.1f GiB)", prop.name, prop.major, prop.minor,
                static_cast<double>(prop.totalGlobalMem) / (1024.0 * 1024.0 * 1024.0));
  return std::string(buf);
}

Result<DeviceBuffer> DeviceBuffer::allocate(size_t bytes) {
  DeviceBuffer b;
  if (bytes == 0) return std::move(b);
  TS_RETURN_IF_ERROR(from_cuda(cudaMalloc(&b.ptr_, bytes), "cudaMalloc"));
  b.bytes_ = bytes;
  return std::move(b);
}

DeviceBuffer::~DeviceBuffer() {
  if (ptr_) cudaFree(ptr_);
}

DeviceBuffer::DeviceBuffer(DeviceBuffer&& other) noexcept
    : ptr_(std::exchange(other.ptr_, nullptr)), bytes_(std::exchange(other.bytes_, 0)) {}

DeviceBuffer& DeviceBuffer::operator=(DeviceBuffer&& other) noexcept {
  if (this != &other) {
    if (ptr_) cudaFree(ptr_);
    ptr_ = std::exchange(other.ptr_, nullptr);
    bytes_ = std::exchange(other.bytes_, 0);
  }
  return *this;
}

Status DeviceBuffer::copy_from_host(const void* src, size_t bytes) {
  if (bytes > bytes_) return invalid_argument("copy_from_host: more bytes than the buffer holds");
  return from_cuda(cudaMemcpy(ptr_, src, bytes, cudaMemcpyHostToDevice), "cudaMemcpy H2D");
}

Status DeviceBuffer::copy_to_host(void* dst, size_t bytes) const {
  if (bytes > bytes_) return invalid_argument("copy_to_host: more bytes than the buffer holds");
  return from_cuda(cudaMemcpy(dst, ptr_, bytes, cudaMemcpyDeviceToHost), "cudaMemcpy D2H");
}

}  // namespace trimserve::cuda
