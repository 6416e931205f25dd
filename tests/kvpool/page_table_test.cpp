// PageTable, Lane and compaction in isolation: allocation bookkeeping, fills, and that a
// CompactionPlan applied to a fake engine storage leaves exactly the survivors, in order.
#include "kvpool/page_table.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <random>
#include <set>
#include <vector>

#include "kvpool/compaction.h"
#include "kvpool/lane.h"
#include "kvpool/page_invariants.h"

using namespace trimserve;

TEST_CASE("PageTable hands out each page once and takes it back", "[kvpool]") {
  PageTable table(5, 4);
  CHECK(table.num_free() == 5);
  std::vector<PageId> a;
  table.allocate(3, 7, 1, a);
  CHECK(a == std::vector<PageId>{0, 1, 2});  // lowest ids first, deterministic
  CHECK(table.num_used() == 3);
  for (PageId p : a) {
    CHECK_FALSE(table.is_free(p));
    CHECK(table.owner_seq(p) == 7);
    CHECK(table.owner_lane(p) == 1);
    CHECK(table.fill(p) == 0);
  }
  table.set_fill(1, 4);
  CHECK(table.fill(1) == 4);
  table.free(1);
  CHECK(table.is_free(1));
  CHECK(table.fill(1) == 0);
  std::vector<PageId> b;
  table.allocate(3, 8, 0, b);
  std::set<PageId> all(a.begin(), a.end());
  all.erase(1);
  for (PageId p : b) CHECK(all.insert(p).second);  // no page handed out twice
  CHECK(table.num_free() == 0);
  std::vector<PageId> f(table.free_list().begin(), table.free_list().end());
  CHECK(f.empty());
}

TEST_CASE("Lane appends across pages and keeps fills", "[kvpool]") {
  PageTable table(10, 3);
  Lane lane(4, 2, 3);
  CHECK(lane.pages_needed(0) == 0);
  CHECK(lane.pages_needed(1) == 1);
  CHECK(lane.pages_needed(7) == 3);
  lane.grow(lane.pages_needed(7), table);
  CHECK(lane.capacity() == 9);
  for (int i = 0; i < 7; ++i) lane.append(10 + i, -0.5f * i, table);
  CHECK(lane.len() == 7);
  CHECK(lane.pages_needed(2) == 0);
  CHECK(lane.pages_needed(3) == 1);
  CHECK(table.fill(lane.pages()[0]) == 3);
  CHECK(table.fill(lane.pages()[2]) == 1);
  CHECK(lane.page_of(4) == lane.pages()[1]);
  CHECK(lane.slot_of(4) == 1);
  const Lane* lanes[] = {&lane};
  CHECK(check_page_invariants(table, lanes).ok());
  std::vector<PageId> freed;
  lane.release(table, freed);
  CHECK(freed.size() == 3);
  CHECK(table.num_free() == 10);
}

TEST_CASE("A hand-checked compaction plan", "[kvpool]") {
  // B = 2, entries 0..4 on pages p0 = {0, 1}, p1 = {2, 3}, p2 = {4}; keep 1, 2, 4.
  PageTable table(4, 2);
  std::vector<Lane> lanes;
  lanes.emplace_back(1, 0, 2);
  lanes[0].grow(3, table);
  for (int i = 0; i < 5; ++i) lanes[0].append(i, -1.0f, table);
  const std::vector<PageId> pages(lanes[0].pages().begin(), lanes[0].pages().end());
  std::vector<LaneEntries> entries{lanes[0].entries()};
  KeepMask keep;
  keep.reset(entries);
  keep.lane(0)[0] = 0;
  keep.lane(0)[3] = 0;
  CompactionPlan plan;
  compact_lanes(lanes, keep, table, plan);
  REQUIRE(plan.moves.size() == 3);
  CHECK(plan.moves[0].src_page == pages[0]);
  CHECK(plan.moves[0].src_slot == 1);
  CHECK(plan.moves[0].dst_page == pages[0]);
  CHECK(plan.moves[0].dst_slot == 0);
  CHECK(plan.moves[1].src_page == pages[1]);
  CHECK(plan.moves[1].src_slot == 0);
  CHECK(plan.moves[1].dst_page == pages[0]);
  CHECK(plan.moves[1].dst_slot == 1);
  CHECK(plan.moves[2].src_page == pages[2]);
  CHECK(plan.moves[2].src_slot == 0);
  CHECK(plan.moves[2].dst_page == pages[1]);
  CHECK(plan.moves[2].dst_slot == 0);
  CHECK(plan.freed_pages == std::vector<PageId>{pages[2]});
  CHECK(plan.num_evicted == 2);
  CHECK(std::vector<int32_t>(lanes[0].positions().begin(), lanes[0].positions().end()) ==
        std::vector<int32_t>{1, 2, 4});
  CHECK(table.fill(pages[1]) == 1);
  CHECK(table.is_free(pages[2]));
}

TEST_CASE("Random compactions applied to a shadow storage keep survivors in order", "[kvpool]") {
  std::mt19937_64 rng(12345);
  for (int trial = 0; trial < 300; ++trial) {
    const int64_t b = std::uniform_int_distribution<int64_t>(1, 6)(rng);
    const int num_lanes = std::uniform_int_distribution<int>(1, 4)(rng);
    PageTable table(256, b);
    std::vector<int64_t> storage(static_cast<size_t>(256 * b), -1);  // entry id per slot
    std::vector<Lane> lanes;
    std::vector<std::vector<int64_t>> expect(static_cast<size_t>(num_lanes));
    int64_t next_id = 0;
    for (int l = 0; l < num_lanes; ++l) {
      lanes.emplace_back(9, l, b);
      const int64_t n = std::uniform_int_distribution<int64_t>(0, 40)(rng);
      // Sometimes reserve spare pages that stay empty, which compaction must free too.
      const int64_t spare = std::uniform_int_distribution<int64_t>(0, 2)(rng) * b;
      lanes[l].grow(lanes[l].pages_needed(n + spare), table);
      for (int64_t i = 0; i < n; ++i) {
        storage[static_cast<size_t>(lanes[l].page_of(i) * b + lanes[l].slot_of(i))] = next_id;
        lanes[l].append(static_cast<int32_t>(i), 0.0f, table);
        expect[l].push_back(next_id++);
      }
    }
    std::vector<LaneEntries> entries;
    for (const Lane& lane : lanes) entries.push_back(lane.entries());
    KeepMask keep;
    keep.reset(entries);
    const double p_keep = std::uniform_real_distribution<double>(0.0, 1.0)(rng);
    int64_t dropped = 0;
    std::vector<bool> untouched(static_cast<size_t>(num_lanes));
    std::vector<size_t> pages_before(static_cast<size_t>(num_lanes));
    for (int l = 0; l < num_lanes; ++l) {
      std::vector<int64_t> kept;
      auto mask = keep.lane(l);
      for (size_t i = 0; i < mask.size(); ++i) {
        mask[i] = std::bernoulli_distribution(p_keep)(rng) ? 1 : 0;
        if (mask[i]) kept.push_back(expect[l][i]);
      }
      dropped += static_cast<int64_t>(expect[l].size() - kept.size());
      untouched[l] = kept.size() == expect[l].size();
      pages_before[l] = lanes[l].pages().size();
      expect[l] = kept;
    }
    CompactionPlan plan;
    compact_lanes(lanes, keep, table, plan);
    CHECK(plan.num_evicted == dropped);
    for (const EntryMove& m : plan.moves) {
      REQUIRE(!(m.src_page == m.dst_page && m.src_slot == m.dst_slot));
      storage[static_cast<size_t>(m.dst_page * b + m.dst_slot)] =
          storage[static_cast<size_t>(m.src_page * b + m.src_slot)];
    }
    for (PageId p : plan.freed_pages) REQUIRE(table.is_free(p));
    for (int l = 0; l < num_lanes; ++l) {
      REQUIRE(lanes[l].len() == static_cast<int64_t>(expect[l].size()));
      for (int64_t i = 0; i < lanes[l].len(); ++i) {
        REQUIRE(storage[static_cast<size_t>(lanes[l].page_of(i) * b + lanes[l].slot_of(i))] ==
                expect[l][static_cast<size_t>(i)]);
      }
      if (untouched[l]) {
        CHECK(lanes[l].pages().size() == pages_before[l]);
      } else {
        CHECK(static_cast<int64_t>(lanes[l].pages().size()) == (lanes[l].len() + b - 1) / b);
      }
    }
    std::vector<const Lane*> ptrs;
    for (const Lane& lane : lanes) ptrs.push_back(&lane);
    REQUIRE(check_page_invariants(table, ptrs).ok());
  }
}

TEST_CASE("Page invariant audit catches a leak", "[kvpool]") {
  PageTable table(4, 2);
  Lane lane(1, 0, 2);
  lane.grow(2, table);
  std::vector<PageId> stray;
  table.allocate(1, 5, 0, stray);  // owned in the table, held by no lane
  const Lane* lanes[] = {&lane};
  const Status st = check_page_invariants(table, lanes);
  CHECK(st.code() == ErrorCode::kInternal);
  CHECK(st.message().find("leak") != std::string::npos);
}
