// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78): the checksum of trimserve's own file
// formats (persisted sessions). Chosen over CRC-32 (zlib) for its better error detection on
// long messages; computed here in portable table-driven code (slicing-by-8), no hardware
// intrinsics, so every build and host agrees bit for bit.
//
// Results use the standard convention (initial value and final xor 0xFFFFFFFF), so
// crc32c("123456789") == 0xE3069283. Pure functions: thread-safe, no allocation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace trimserve {

// Continues a checksum: crc32c_extend(crc32c(a), b) == crc32c(a + b). Start with 0.
uint32_t crc32c_extend(uint32_t crc, const void* data, size_t n);

inline uint32_t crc32c(std::string_view bytes) { return crc32c_extend(0, bytes.data(), bytes.size()); }

}  // namespace trimserve
