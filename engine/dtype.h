// DType: the element types a safetensors file can declare, and the conversions between the
// 16-bit float formats (bf16, IEEE f16) and f32.
//
// Only F32, F16 and BF16 hold model weights in trimserve; the other types are known so that a
// file declaring them can still be bounds-checked and reported by name ("dtype I64, expected
// F32, F16 or BF16") instead of being called garbage.
//
// All functions are pure and thread-safe. Byte order is little-endian (the safetensors format
// and every host trimserve targets).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace trimserve {

enum class DType {
  kF32,
  kF16,
  kBF16,
  kF64,
  kI64,
  kI32,
  kI16,
  kI8,
  kU64,
  kU32,
  kU16,
  kU8,
  kBool,
  kF8E4M3,
  kF8E5M2,
};

// The safetensors spelling: "F32", "BF16", "I64", ...
const char* dtype_name(DType dtype);

// Parses a safetensors dtype name; nullopt for names the format does not define.
std::optional<DType> dtype_from_name(std::string_view name);

// Bytes per element (1, 2, 4 or 8).
size_t dtype_size(DType dtype);

// True for the types load-time widening accepts: F32, F16, BF16.
bool is_weight_dtype(DType dtype);

// Exact conversions (every bf16 and f16 value, including subnormals, infinities and NaN, is
// representable in f32).
float bf16_to_f32(uint16_t bits);
float f16_to_f32(uint16_t bits);

// Round-to-nearest-even narrowing (what torch's .to(bfloat16/float16) does); NaN stays NaN,
// f16 overflow becomes infinity.
uint16_t f32_to_bf16(float value);
uint16_t f32_to_f16(float value);

// Widens `count` elements of `dtype` (F32, F16 or BF16; precondition) starting at `src` into
// `dst`. `src` need not be aligned: mmap'd safetensors data only guarantees byte alignment.
void widen_to_f32(const void* src, DType dtype, size_t count, float* dst);

}  // namespace trimserve
