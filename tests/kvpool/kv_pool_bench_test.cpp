// Hidden benchmark ([.perf], not run by CTest): cost of reserve/append/compress at a realistic
// shape (L = 28, Hkv = 8 -> 224 lanes, M = 1024, B = 16). Run by hand:
//   build/tests/kv_pool_bench_test "[perf]"
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <random>
#include <vector>

#include "kvpool/kv_pool.h"

using namespace trimserve;

namespace {

struct Shape {
  int64_t layers = 28;
  int64_t heads = 8;
  int64_t budget = 1024;
  int64_t prompt_chunks = 8;  // of 512 tokens
  int64_t decode_steps = 2048;
};

void bench(const char* name, KvPolicy policy, int64_t buffer, double floor_ratio,
           const Shape& shape = {}) {
  const int64_t kLayers = shape.layers, kHeads = shape.heads, kLanes = kLayers * kHeads;
  const int64_t kBudget = shape.budget;
  constexpr int64_t kPage = 16;
  auto pool =
      KvPool::create({kLanes * ((kBudget + buffer + 512) / kPage + 2), kPage, kLayers, kHeads});
  REQUIRE(pool.ok());
  SequenceKvConfig c;
  c.policy = policy;
  c.budget = kBudget;
  c.buffer = buffer;
  c.floor_ratio = floor_ratio;
  REQUIRE((*pool)->add_sequence(1, c).ok());
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> beta(-0.05f, 0.0f);
  int64_t processed = 0;
  double compress_s = 0, idle_s = 0, total_s = 0;
  int64_t fired = 0;
  auto run_step = [&](int64_t t) {
    std::vector<int32_t> pos(static_cast<size_t>(t));
    std::vector<float> lb(static_cast<size_t>(t * kLanes));
    for (int64_t i = 0; i < t; ++i)
      pos[static_cast<size_t>(i)] = static_cast<int32_t>(processed + i);
    for (float& x : lb) x = beta(rng);
    const auto t0 = std::chrono::steady_clock::now();
    REQUIRE((*pool)->reserve(1, t).ok());
    (*pool)->append(1, pos, lb);
    const auto t1 = std::chrono::steady_clock::now();
    const CompactionPlan plan = (*pool)->compress(1);
    const auto t2 = std::chrono::steady_clock::now();
    processed += t;
    const double c = std::chrono::duration<double>(t2 - t1).count();
    total_s += std::chrono::duration<double>(t2 - t0).count();
    if (plan.num_evicted > 0) {
      ++fired;
      compress_s += c;
    } else {
      idle_s += c;
    }
  };
  for (int64_t chunk = 0; chunk < shape.prompt_chunks; ++chunk) run_step(512);
  for (int64_t i = 0; i < shape.decode_steps; ++i) run_step(1);
  const int64_t steps = shape.prompt_chunks + shape.decode_steps;
  std::printf(
      "%-26s %4ld steps: total %7.1f ms; %4ld evicting compresses %6.2f ms each;"
      " other compresses %5.2f us each\n",
      name, static_cast<long>(steps), total_s * 1e3, static_cast<long>(fired),
      fired ? compress_s * 1e3 / static_cast<double>(fired) : 0.0,
      steps > fired ? idle_s * 1e6 / static_cast<double>(steps - fired) : 0.0);
  REQUIRE((*pool)->check_invariants().ok());
}

}  // namespace

TEST_CASE("bench: 224 lanes, M = 1024", "[.][perf]") {
  bench("window buffer 128", KvPolicy::kWindow, 128, 0.0);
  bench("trimkv buffer 128", KvPolicy::kTrimKv, 128, 0.0);
  bench("trimkv buffer 0 (256 steps)", KvPolicy::kTrimKv, 0, 0.0, Shape{28, 8, 1024, 8, 256});
  bench("trimkv-global buffer 128", KvPolicy::kTrimKvGlobal, 128, 0.0);
  bench("trimkv-global floor 0.2", KvPolicy::kTrimKvGlobal, 128, 0.2);
}

// Keeps the harness compiling and working (and gives CTest a test in this binary).
TEST_CASE("bench harness smoke run at a small shape", "[kvpool]") {
  const Shape small{2, 2, 64, 1, 50};
  bench("smoke trimkv", KvPolicy::kTrimKv, 8, 0.0, small);
  bench("smoke trimkv-global", KvPolicy::kTrimKvGlobal, 8, 0.25, small);
}
