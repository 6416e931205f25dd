// EngineRig: a CPU engine and a KvPool sized alike over a tiny model, for tests that drive
// real engine steps (sequence runner, sessions). Also the tiny-model weight loader and a
// logits comparison those tests share.
#pragma once

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "engine/cpu/cpu_engine.h"
#include "engine/weights.h"
#include "kvpool/kv_pool.h"
#include "tests/support/tiny_models.h"

namespace trimserve::testing {

inline std::shared_ptr<const ModelWeights> load_tiny_weights(const std::string& name) {
  auto w = load_model_weights(tiny_model_dir(name));
  REQUIRE(w.ok());
  return std::shared_ptr<const ModelWeights>(std::move(*w));
}

struct EngineRig {
  std::unique_ptr<cpu::CpuEngine> engine;
  std::unique_ptr<KvPool> pool;
};

inline EngineRig make_engine_rig(std::shared_ptr<const ModelWeights> w, int64_t num_pages,
                                 int64_t page_size = 4) {
  cpu::CpuEngineOptions eo;
  eo.num_threads = 2;
  eo.num_pages = num_pages;
  eo.page_size = page_size;
  auto e = cpu::CpuEngine::create(w, eo);
  REQUIRE(e.ok());
  auto p = KvPool::create(
      {num_pages, page_size, w->config.num_hidden_layers, w->config.num_key_value_heads});
  REQUIRE(p.ok());
  return {std::move(*e), std::move(*p)};
}

inline double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  REQUIRE(a.size() == b.size());
  double m = 0;
  for (size_t i = 0; i < a.size(); ++i) m = std::max(m, double(std::fabs(a[i] - b[i])));
  return m;
}

}  // namespace trimserve::testing
