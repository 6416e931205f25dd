// ModelWeights: every named tensor of one Qwen3 (+ optional TrimKV gates) checkpoint, loaded
// from a Hugging Face model directory (single or sharded *.safetensors), validated against the
// ModelConfig (name, dtype, shape) and widened to f32.
//
// Tensor names and shapes (HF convention; nn.Linear weights are [out, in]):
//   model.embed_tokens.weight                      [V, C]
//   model.layers.{l}.input_layernorm.weight        [C]
//   model.layers.{l}.self_attn.q_proj.weight       [H*D, C]     (+ .bias [H*D] if attention_bias)
//   model.layers.{l}.self_attn.k_proj.weight       [Hkv*D, C]   (+ .bias)
//   model.layers.{l}.self_attn.v_proj.weight       [Hkv*D, C]   (+ .bias)
//   model.layers.{l}.self_attn.o_proj.weight       [C, H*D]     (+ .bias [C])
//   model.layers.{l}.self_attn.q_norm.weight       [D]          (all layers or none)
//   model.layers.{l}.self_attn.k_norm.weight       [D]
//   model.layers.{l}.post_attention_layernorm.weight [C]
//   model.layers.{l}.mlp.gate_proj.weight          [F, C]  (F = intermediate_size)
//   model.layers.{l}.mlp.up_proj.weight            [F, C]
//   model.layers.{l}.mlp.down_proj.weight          [C, F]
//   model.norm.weight                              [C]
//   lm_head.weight                                 [V, C]  (absent when tie_word_embeddings)
// Retention gates, prefix P = model.layers.{l}.self_attn.retention_gate, Cin =
// retention_gate_input_size() (C for rg, 2*D*Hkv for rg2/rg3):
//   rg/rg2: P.linear1.weight [I, Cin], P.linear1.bias [I], P.linear2.weight [Hkv, I], P.bias [Hkv]
//   rg3:    P.gate_proj.weight [I, Cin], P.up_proj.weight [I, Cin], P.down_proj.weight [Hkv, I],
//           P.bias [Hkv]
//   shared projection (retention_gate_shared_projection): per layer only linear1 (rg/rg2) or
//   gate_proj/up_proj (rg3); one model.retention_gate.linear2.weight [Hkv, I] (rg3:
//   model.retention_gate.down_proj.weight) and one model.retention_gate.bias [Hkv] for all layers.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "engine/model_config.h"
#include "engine/tensor.h"

namespace trimserve {

struct RetentionGateWeights {
  // rg/rg2: linear1 (w1, b1) then linear2 (w2). rg3: gate_proj (w1), up_proj (w_up), down_proj (w2).
  Tensor w1;    // [I, Cin]
  Tensor b1;    // [I]          (rg/rg2 only)
  Tensor w_up;  // [I, Cin]     (rg3 only)
  // Final projection and bias: owned per layer, or pointing at ModelWeights::shared_gate_* when
  // retention_gate_shared_projection is set. Never null when the model has gates.
  const Tensor* w2 = nullptr;    // [Hkv, I]
  const Tensor* bias = nullptr;  // [Hkv]
  Tensor own_w2;
  Tensor own_bias;
};

struct LayerWeights {
  Tensor input_norm;  // [C]
  Tensor q_proj, k_proj, v_proj, o_proj;
  Tensor q_bias, k_bias, v_bias, o_bias;  // empty unless attention_bias
  Tensor q_norm, k_norm;                   // [D]; empty when !config.qk_norm
  Tensor post_attention_norm;              // [C]
  Tensor gate_proj, up_proj, down_proj;
  RetentionGateWeights gate;               // empty tensors when the model has no gates
};

struct ModelWeights {
  ModelConfig config;
  Tensor embed_tokens;  // [V, C]
  std::vector<LayerWeights> layers;
  Tensor final_norm;    // [C]
  Tensor lm_head;       // [V, C]; empty when tied
  Tensor shared_gate_w2;    // [Hkv, I]; only with the shared projection
  Tensor shared_gate_bias;  // [Hkv]

  // lm_head or, when tied, the embedding matrix.
  const Tensor& output_projection() const { return lm_head.empty() ? embed_tokens : lm_head; }

  ModelWeights() = default;
  ModelWeights(const ModelWeights&) = delete;  // gates point into this object
  ModelWeights& operator=(const ModelWeights&) = delete;
};

// Loads config.json and every weight of `model_dir`. Errors name the tensor and the file:
//   "model.layers.1.self_attn.k_proj.weight in model-00002-of-00002.safetensors: shape [64, 128],
//    expected [32, 128]", "missing tensor model.norm.weight", "...: file truncated: data ends at
//   byte 81920 but the file has 40960 bytes". Unused extra tensors are an error too (a sign of
//   the wrong architecture), except rotary_emb.inv_freq buffers.
// Decided from the tensors, written into the returned config:
//   - qk_norm: q_norm/k_norm present in every layer (true) or none (false); anything else errors.
//   - o_proj.bias is optional even with attention_bias (o_bias stays empty when absent).
//   - a tied checkpoint may still hold lm_head.weight if it equals the embedding (ignored).
//   - config.json without TrimKV keys but with gate tensors: the gate kind (rg3 if gate_proj;
//     rg2 if linear1's input width is 2*D*Hkv != C; else rg), I and the sharing come from the
//     tensors, memory_size/buffer_size from the TrimKV reference defaults (1024 / 128).
// Files are mmap'd only for the duration of the call; the result owns f32 copies. Thread-safe
// (no shared state); call from any thread.
Result<std::unique_ptr<ModelWeights>> load_model_weights(const std::string& model_dir);

}  // namespace trimserve
