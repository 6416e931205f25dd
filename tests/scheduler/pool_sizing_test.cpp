// kvpool.capacity -> pages, and the idle-memory limits in pages.
#include "scheduler/pool_sizing.h"

#include <catch2/catch.hpp>

using namespace trimserve;
using Kind = DaemonConfig::KvPool::Capacity::Kind;

TEST_CASE("capacity forms give pages of the engine's storage", "[pool_sizing]") {
  DaemonConfig::KvPool::Capacity c;
  // B = 16, D = 64, f32: 16 * 2 * 64 * 4 = 8 KiB per page.
  c.kind = Kind::kEntries;
  c.entries = 1000;
  auto s = size_pool(c, 16, 64, 4, 0, 1);
  REQUIRE(s.ok());
  CHECK(s->num_pages == 63);  // ceil(1000 / 16)
  CHECK(s->page_bytes == 8192);
  CHECK(s->entries() == 1008);
  c.kind = Kind::kBytes;
  c.bytes = 1 << 20;
  CHECK(size_pool(c, 16, 64, 4, 0, 1)->num_pages == 128);
  c.kind = Kind::kFraction;
  c.fraction = 0.5;
  CHECK(size_pool(c, 16, 64, 4, int64_t{1} << 30, 1)->num_pages == 65536);
}

TEST_CASE("a pool too small or too large is a config error", "[pool_sizing]") {
  DaemonConfig::KvPool::Capacity c;
  c.kind = Kind::kBytes;
  c.bytes = 100000;
  auto small = size_pool(c, 16, 64, 4, 0, 400);
  REQUIRE(!small.ok());
  CHECK(small.status().message() ==
        "kvpool.capacity: 100000 bytes make 12 pages (pages of 16 entries, 8192 bytes), fewer "
        "than the 400 one sequence needs at the model's budget");
  c.kind = Kind::kEntries;
  c.entries = int64_t{1} << 40;
  CHECK(size_pool(c, 1, 64, 4, 0, 1).status().code() == ErrorCode::kInvalidArgument);
}

TEST_CASE("idle limits in pages", "[pool_sizing]") {
  DaemonConfig::KvPool kv;
  PoolSizing pool;
  pool.num_pages = 1000;
  pool.page_size = 16;
  pool.page_bytes = 8192;
  kv.low_watermark = 0.05;
  IdleMemoryLimits l = idle_memory_limits(kv, pool);
  CHECK(l.min_free_pages == 50);
  CHECK(l.max_idle_pages == std::numeric_limits<int64_t>::max());
  kv.sessions.max_idle_bytes = 100 * 8192 + 5;
  CHECK(idle_memory_limits(kv, pool).max_idle_pages == 100);
  kv.sessions.max_idle_bytes = 1;
  CHECK(idle_memory_limits(kv, pool).max_idle_pages == 1);
  CHECK(host_available_bytes().ok());
}
