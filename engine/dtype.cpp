#include "engine/dtype.h"

#include <bit>
#include <cstring>

#include "common/check.h"

namespace trimserve {
namespace {

struct DTypeInfo {
  DType dtype;
  const char* name;
  size_t size;
};

constexpr DTypeInfo kDTypes[] = {
    {DType::kF32, "F32", 4},        {DType::kF16, "F16", 2},     {DType::kBF16, "BF16", 2},
    {DType::kF64, "F64", 8},        {DType::kI64, "I64", 8},     {DType::kI32, "I32", 4},
    {DType::kI16, "I16", 2},        {DType::kI8, "I8", 1},       {DType::kU64, "U64", 8},
    {DType::kU32, "U32", 4},        {DType::kU16, "U16", 2},     {DType::kU8, "U8", 1},
    {DType::kBool, "BOOL", 1},      {DType::kF8E4M3, "F8_E4M3", 1},
    {DType::kF8E5M2, "F8_E5M2", 1},
};

const DTypeInfo& info(DType dtype) {
  for (const DTypeInfo& i : kDTypes) {
    if (i.dtype == dtype) return i;
  }
  TS_CHECK_MSG(false, "unknown DType value");
  return kDTypes[0];
}

}  // namespace

const char* dtype_name(DType dtype) { return info(dtype).name; }

std::optional<DType> dtype_from_name(std::string_view name) {
  for (const DTypeInfo& i : kDTypes) {
    if (name == i.name) return i.dtype;
  }
  return std::nullopt;
}

size_t dtype_size(DType dtype) { return info(dtype).size; }

bool is_weight_dtype(DType dtype) {
  return dtype == DType::kF32 || dtype == DType::kF16 || dtype == DType::kBF16;
}

float bf16_to_f32(uint16_t bits) {
  // bf16 is the upper half of an f32 bit pattern.
  return std::bit_cast<float>(static_cast<uint32_t>(bits) << 16);
}

float f16_to_f32(uint16_t bits) {
  const uint32_t sign = static_cast<uint32_t>(bits & 0x8000u) << 16;
  const uint32_t exponent = (bits >> 10) & 0x1Fu;
  uint32_t mantissa = bits & 0x3FFu;
  uint32_t out;
  if (exponent == 0x1F) {
    out = sign | 0x7F800000u | (mantissa << 13);  // inf / NaN (payload kept)
  } else if (exponent != 0) {
    out = sign | ((exponent + 127 - 15) << 23) | (mantissa << 13);
  } else if (mantissa == 0) {
    out = sign;  // +-0
  } else {
    // Subnormal f16: normalize into an f32 normal number.
    int32_t e = -14;
    while ((mantissa & 0x400u) == 0) {
      mantissa <<= 1;
      --e;
    }
    mantissa &= 0x3FFu;
    out = sign | (static_cast<uint32_t>(e + 127) << 23) | (mantissa << 13);
  }
  return std::bit_cast<float>(out);
}

uint16_t f32_to_bf16(float value) {
  const uint32_t u = std::bit_cast<uint32_t>(value);
  if ((u & 0x7F800000u) == 0x7F800000u && (u & 0x7FFFFFu) != 0) {
    return static_cast<uint16_t>((u >> 16) | 0x40u);  // quiet NaN; never round it to inf
  }
  const uint32_t rounding = 0x7FFFu + ((u >> 16) & 1u);
  return static_cast<uint16_t>((u + rounding) >> 16);
}

uint16_t f32_to_f16(float value) {
  const uint32_t u = std::bit_cast<uint32_t>(value);
  const uint16_t sign = static_cast<uint16_t>((u >> 16) & 0x8000u);
  const uint32_t abs = u & 0x7FFFFFFFu;
  if (abs >= 0x7F800000u) {  // inf or NaN
    return static_cast<uint16_t>(sign | 0x7C00u | (abs > 0x7F800000u ? 0x200u : 0u));
  }
  if (abs >= 0x477FF000u) return static_cast<uint16_t>(sign | 0x7C00u);  // rounds past 65504
  const int32_t exponent = static_cast<int32_t>(abs >> 23) - 127;
  if (exponent < -25) return sign;  // below half the smallest subnormal: rounds to zero
  uint32_t mantissa = (abs & 0x7FFFFFu) | 0x800000u;  // with the implicit bit
  // Number of low mantissa bits dropped: 13 for normals, more for subnormals.
  const int32_t shift = exponent >= -14 ? 13 : 13 + (-14 - exponent);
  const uint32_t half = 1u << (shift - 1);
  const uint32_t rest = mantissa & ((1u << shift) - 1);
  uint32_t kept = mantissa >> shift;
  if (rest > half || (rest == half && (kept & 1u))) ++kept;
  if (exponent >= -14) {
    // kept holds 11 bits incl. the implicit one; a carry into bit 11 bumps the exponent,
    // which the addition below does by itself.
    const uint32_t biased = static_cast<uint32_t>(exponent + 15);
    return static_cast<uint16_t>(sign | ((biased << 10) + (kept - 0x400u)));
  }
  return static_cast<uint16_t>(sign | kept);  // subnormal (a carry yields the smallest normal)
}

void widen_to_f32(const void* src, DType dtype, size_t count, float* dst) {
  if (count == 0) return;  // an empty tensor may have no storage: memcpy(nullptr, ..., 0) is UB
  const auto* bytes = static_cast<const unsigned char*>(src);
  switch (dtype) {
    case DType::kF32:
      std::memcpy(dst, bytes, count * sizeof(float));
      return;
    case DType::kBF16:
      for (size_t i = 0; i < count; ++i) {
        uint16_t bits;
        std::memcpy(&bits, bytes + 2 * i, 2);
        dst[i] = bf16_to_f32(bits);
      }
      return;
    case DType::kF16:
      for (size_t i = 0; i < count; ++i) {
        uint16_t bits;
        std::memcpy(&bits, bytes + 2 * i, 2);
        dst[i] = f16_to_f32(bits);
      }
      return;
    default:
      TS_CHECK_MSG(false, "widen_to_f32: not a weight dtype");
  }
}

}  // namespace trimserve
