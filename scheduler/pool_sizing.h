// How big the KV pool is (DESIGN.md §4 "Page"): kvpool.capacity turned into a number of pages
// at startup, and the idle-memory limits (low watermark, sessions.max_idle_bytes) turned into
// pages of that pool.
//
// A page holds B entries of one lane; an entry is K[D] and V[D] in the engine's storage type,
// so page_bytes = B * 2 * D * bytes_per_value (4 for the CPU engine's f32 storage).
// Pure functions apart from host_available_bytes(); thread-safe.
#pragma once

#include <cstdint>
#include <string>

#include "common/status.h"
#include "config/daemon_config.h"
#include "kvpool/session_pool.h"

namespace trimserve {

struct PoolSizing {
  int64_t num_pages = 0;
  int64_t page_size = 0;   // B
  int64_t page_bytes = 0;
  int64_t entries() const { return num_pages * page_size; }
};

// Pages for `capacity`: {entries: N} -> ceil(N / B); bytes -> floor(bytes / page_bytes);
// N% -> floor(fraction * available_bytes / page_bytes). Errors (kInvalidArgument, naming
// kvpool.capacity): less than `min_pages` (what one sequence needs at the model's budget) or
// more than 2^31 - 1 pages.
Result<PoolSizing> size_pool(const DaemonConfig::KvPool::Capacity& capacity, int64_t page_size,
                             int64_t head_dim, int64_t bytes_per_value, int64_t available_bytes,
                             int64_t min_pages);

// MemAvailable of /proc/meminfo, in bytes (the memory a CPU engine may take). Errors:
// kUnavailable when the file cannot be read or has no MemAvailable line.
Result<int64_t> host_available_bytes();

// The idle-memory limits of kvpool.low_watermark (a fraction of the pool's pages kept free)
// and kvpool.sessions.max_idle_bytes (0 = no cap; else whole pages, at least one).
IdleMemoryLimits idle_memory_limits(const DaemonConfig::KvPool& kvpool, const PoolSizing& pool);

}  // namespace trimserve
