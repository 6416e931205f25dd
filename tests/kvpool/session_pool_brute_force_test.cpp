// Randomized differential test of the whole pool with sessions: KvPool + SessionStore through
// the session glue (kvpool/session_pool.h), against a brute-force model written here, with a
// fake clock. Random interleavings of begin turn (new / resume / rollback of a diverged
// history), engine steps (prefill pieces and decode, each making room under global pressure
// first), end turn, abort, delete, TTL expiry, clock advances and idle-memory relief, under
// random budgets, policies and capacities, several tenants reusing the same session ids.
//
// After every action:
//   - every lane holds exactly the entries the model keeps (per-sequence budgets by
//     brute_compress; rollback drops pos >= p; global pressure by a full sort of every
//     candidate across sequences with idle decay and protected entries), in lane order, and a
//     fake engine storage updated only through lane views and plans holds them;
//   - every lane holds ceil(len / B) pages; no page leaked or double-owned;
//   - budgets hold; eviction counters by reason and session stats equal the model's;
//   - each (tenant, session id) sees exactly its own session and nothing of another tenant's.
// A failure prints the seed (INFO) so it replays alone.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "tests/kvpool/session_pool_harness.h"

using namespace trimserve;
using namespace trimserve::kvpool_test;

namespace {

void run_case(uint64_t seed, int actions) {
  INFO("seed " << seed << " (replay: run_case(" << seed << ", " << actions << "))");
  Harness h(seed);
  for (int a = 0; a < actions; ++a) {
    INFO("action " << a);
    const int64_t r = h.uniform(0, 99);
    const std::string tenant = kTenants[h.uniform(0, 2)];
    const std::string sid = kSessionIds[h.uniform(0, 2)];
    std::vector<std::pair<std::string, std::string>> running;
    for (const auto& [k, s] : h.sessions()) {
      if (s.running) running.push_back(k);
    }
    if (r < 22 || running.empty()) {
      h.begin(tenant, sid);
    } else if (r < 70) {
      h.step(running[static_cast<size_t>(h.uniform(0, static_cast<int64_t>(running.size()) - 1))]);
    } else if (r < 82) {
      const auto& k =
          running[static_cast<size_t>(h.uniform(0, static_cast<int64_t>(running.size()) - 1))];
      if (h.sessions().at(k).pending.empty() && !h.sessions().at(k).history.empty()) {
        h.end(k);
      } else {
        h.step(k);
      }
    } else if (r < 84) {
      h.abort(running[static_cast<size_t>(h.uniform(0, static_cast<int64_t>(running.size()) - 1))]);
    } else if (r < 88) {
      h.remove(tenant, sid);
    } else if (r < 95) {
      h.advance_and_expire();
    } else {
      h.relieve();
    }
    h.verify();
  }
  h.drain();
}

}  // namespace

TEST_CASE("sessions + pool under global pressure match the brute-force model",
          "[kvpool][brute][sessions]") {
  g_cov = {};
  g_coverage = {};
  for (uint64_t seed = 0; seed < 2000; ++seed) run_case(seed, 80);
  // The runs must keep reaching every path.
  CHECK(g_cov.resumed > 1000);
  CHECK(g_cov.rolled_back > 300);
  CHECK(g_cov.reclaimed > 1000);
  CHECK(g_cov.reclaimed_idle_decayed > 1000);
  CHECK(g_cov.dropped_pressure > 100);
  CHECK(g_cov.cannot_fit > 100);
  CHECK(g_cov.expired > 100);
  CHECK(g_cov.deleted > 100);
  CHECK(g_cov.limit_drops > 100);
  CHECK(g_cov.idle_relief > 1000);
  CHECK(g_coverage.compressions > 1000);
}
