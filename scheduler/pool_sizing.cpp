#include "scheduler/pool_sizing.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <sstream>

namespace trimserve {

Result<PoolSizing> size_pool(const DaemonConfig::KvPool::Capacity& capacity, int64_t page_size,
                             int64_t head_dim, int64_t bytes_per_value, int64_t available_bytes,
                             int64_t min_pages) {
  using Kind = DaemonConfig::KvPool::Capacity::Kind;
  PoolSizing s;
  s.page_size = page_size;
  s.page_bytes = page_size * 2 * head_dim * bytes_per_value;
  std::string what;
  long double pages = 0;
  switch (capacity.kind) {
    case Kind::kEntries:
      pages = std::ceil(static_cast<long double>(capacity.entries) / page_size);
      what = std::to_string(capacity.entries) + " entries";
      break;
    case Kind::kBytes:
      pages = std::floor(static_cast<long double>(capacity.bytes) / s.page_bytes);
      what = std::to_string(capacity.bytes) + " bytes";
      break;
    case Kind::kFraction:
      pages = std::floor(static_cast<long double>(capacity.fraction) * available_bytes /
                         s.page_bytes);
      what = std::to_string(capacity.fraction * 100).substr(0, 5) + "% of " +
             std::to_string(available_bytes) + " available bytes";
      break;
  }
  const std::string page_text = " (pages of " + std::to_string(page_size) + " entries, " +
                                std::to_string(s.page_bytes) + " bytes)";
  if (pages < min_pages) {
    return invalid_argument("kvpool.capacity: " + what + " make " +
                            std::to_string(static_cast<int64_t>(pages)) + " pages" + page_text +
                            ", fewer than the " + std::to_string(min_pages) +
                            " one sequence needs at the model's budget");
  }
  if (pages > std::numeric_limits<int32_t>::max()) {
    return invalid_argument("kvpool.capacity: " + what + " make more than 2^31 - 1 pages" +
                            page_text + "; use a larger kvpool.page_size");
  }
  s.num_pages = static_cast<int64_t>(pages);
  return s;
}

Result<int64_t> host_available_bytes() {
  std::ifstream f("/proc/meminfo");
  std::string line;
  while (std::getline(f, line)) {
    std::istringstream in(line);
    std::string key, unit;
    int64_t kib = 0;
    if (in >> key >> kib >> unit && key == "MemAvailable:") return kib * 1024;
  }
  return Status(ErrorCode::kUnavailable, "cannot read MemAvailable from /proc/meminfo");
}

IdleMemoryLimits idle_memory_limits(const DaemonConfig::KvPool& kvpool, const PoolSizing& pool) {
  IdleMemoryLimits limits;
  limits.min_free_pages =
      static_cast<int64_t>(std::ceil(kvpool.low_watermark * static_cast<double>(pool.num_pages)));
  if (kvpool.sessions.max_idle_bytes > 0) {
    limits.max_idle_pages = std::max<int64_t>(1, kvpool.sessions.max_idle_bytes / pool.page_bytes);
  }
  return limits;
}

}  // namespace trimserve
