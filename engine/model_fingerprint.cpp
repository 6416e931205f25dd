#include "engine/model_fingerprint.h"

#include <cstdio>

#include "common/crc32c.h"

namespace trimserve {

namespace {

constexpr int64_t kWholeTensorFloats = int64_t{64} * 1024;
constexpr int64_t kEdgeFloats = 4096;
constexpr int64_t kRuns = 64;
constexpr int64_t kRunFloats = 256;

uint32_t add_floats(uint32_t crc, const float* data, int64_t n) {
  return crc32c_extend(crc, data, static_cast<size_t>(n) * sizeof(float));
}

uint32_t add_tensor(uint32_t crc, const Tensor& t) {
  const auto rank = static_cast<int64_t>(t.shape.size());
  crc = crc32c_extend(crc, &rank, sizeof(rank));
  crc = crc32c_extend(crc, t.shape.data(), t.shape.size() * sizeof(int64_t));
  const int64_t n = static_cast<int64_t>(t.data.size());
  if (n <= kWholeTensorFloats) return add_floats(crc, t.ptr(), n);
  crc = add_floats(crc, t.ptr(), kEdgeFloats);
  crc = add_floats(crc, t.ptr() + n - kEdgeFloats, kEdgeFloats);
  const int64_t stride = (n - kRunFloats) / (kRuns - 1);
  for (int64_t r = 0; r < kRuns; ++r) crc = add_floats(crc, t.ptr() + r * stride, kRunFloats);
  return crc;
}

}  // namespace

std::string model_fingerprint(const ModelWeights& w) {
  uint32_t crc = 0;
  crc = add_tensor(crc, w.embed_tokens);
  for (const LayerWeights& layer : w.layers) {
    for (const Tensor* t :
         {&layer.input_norm, &layer.q_proj, &layer.k_proj, &layer.v_proj, &layer.o_proj,
          &layer.q_bias, &layer.k_bias, &layer.v_bias, &layer.o_bias, &layer.q_norm,
          &layer.k_norm, &layer.post_attention_norm, &layer.gate_proj, &layer.up_proj,
          &layer.down_proj, &layer.gate.w1, &layer.gate.b1, &layer.gate.w_up,
          &layer.gate.own_w2, &layer.gate.own_bias}) {
      crc = add_tensor(crc, *t);
    }
  }
  // The gates too: a session's saved logβ were scored by them.
  crc = add_tensor(crc, w.shared_gate_w2);
  crc = add_tensor(crc, w.shared_gate_bias);
  crc = add_tensor(crc, w.final_norm);
  crc = add_tensor(crc, w.lm_head);
  const ModelConfig& c = w.config;
  char text[256];
  std::snprintf(text, sizeof(text), "%s L%lld Hkv%lld D%lld V%lld theta=%g w=%08x",
                c.model_type.c_str(), static_cast<long long>(c.num_hidden_layers),
                static_cast<long long>(c.num_key_value_heads), static_cast<long long>(c.head_dim),
                static_cast<long long>(c.vocab_size), c.rope_theta, crc);
  return text;
}

}  // namespace trimserve
