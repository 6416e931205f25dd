// ModelConfig: the architecture of one Hugging Face model directory, parsed from its
// config.json and validated (types, ranges, cross-field consistency) before any weight is read.
//
// Dimension alphabet (DESIGN.md §7.9): L layers, H q-heads, Hkv kv-heads, D head dim,
// C hidden, V vocab, I retention-gate intermediate size, M per-lane KV budget.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"

namespace trimserve {

// Which retention gate the checkpoint carries (config.json "retention_gate"; DESIGN.md §3).
enum class RetentionGateKind {
  kNone,  // no gates: policies full/window only
  kRg,    // h = silu(W1 a + b1), r = W2 h + bias; a = RMSNorm(x) (attention input)
  kRg2,   // same MLP, input = post-RoPE [k; v] of the layer's kv heads (2*D*Hkv)
  kRg3,   // SwiGLU: r = down(silu(gate(kv)) * up(kv)) + bias, input as rg2
};

const char* retention_gate_name(RetentionGateKind kind);

struct RopeScaling {
  std::string type = "default";  // "default" | "linear" | "dynamic" | "yarn" | "llama3"
  double factor = 1.0;
  // llama3 / yarn parameters (unused by "default" and "linear").
  double low_freq_factor = 1.0;
  double high_freq_factor = 4.0;
  int64_t original_max_position_embeddings = 0;  // 0 when the config leaves it out
  // yarn only (transformers' defaults); attention_factor 0 means "derive from factor".
  double beta_fast = 32.0;
  double beta_slow = 1.0;
  double attention_factor = 0.0;
};

struct ModelConfig {
  std::string architecture;  // "Qwen3ForCausalLM" (the only one accepted today)
  std::string model_type;    // "qwen3"
  int64_t vocab_size = 0;               // V
  int64_t hidden_size = 0;              // C
  int64_t intermediate_size = 0;        // MLP width
  int64_t num_hidden_layers = 0;        // L
  int64_t num_attention_heads = 0;      // H
  int64_t num_key_value_heads = 0;      // Hkv (defaults to H when absent)
  int64_t head_dim = 0;                 // D (defaults to C / H when absent)
  int64_t max_position_embeddings = 0;
  double rms_norm_eps = 1e-6;
  double rope_theta = 1000000.0;
  RopeScaling rope_scaling;
  bool tie_word_embeddings = false;
  bool attention_bias = false;          // q/k/v/o projections carry biases
  std::string hidden_act = "silu";      // only silu is accepted
  std::string torch_dtype = "bfloat16"; // informational; tensors carry their own dtype
  std::vector<int64_t> eos_token_ids;   // config.json eos_token_id (int or list)
  int64_t bos_token_id = -1;            // -1 when absent

  // Set by the weight loader, not by config.json: whether q_norm/k_norm tensors exist
  // (Qwen3 has them; a tiny test model may not).
  bool qk_norm = true;

  // TrimKV / DBTrimKV fields (absent in a plain Qwen3 checkpoint).
  RetentionGateKind retention_gate = RetentionGateKind::kNone;
  int64_t memory_size = 0;                       // M, per-lane budget the gates were trained for
  int64_t buffer_size = 0;                       // compress once a lane reaches M + buffer
  int64_t retention_gate_intermediate_size = 0;  // I
  bool retention_gate_shared_projection = false; // DBTrimKV: one W2/bias for all layers
  double floor_budget_ratio = 0.0;               // trimkv-global per-lane floor, in [0, 1)

  bool has_retention_gates() const { return retention_gate != RetentionGateKind::kNone; }
  // Input width of the gate's first projection: C for rg, 2*D*Hkv for rg2/rg3.
  int64_t retention_gate_input_size() const;
};

// Parses and validates `<dir>/config.json`. Errors name the key (the source is the file's
// path, so messages read "<dir>/config.json: <key>: ..."):
//   "config.json: num_hidden_layers: expected a positive integer, got \"two\"",
//   "config.json: architectures: unsupported 'LlamaForCausalLM' (supported: Qwen3ForCausalLM)".
// Codes: kNotFound (no dir / no config.json), kInvalidArgument (bad JSON, types, ranges),
// kUnimplemented (valid but unsupported: architecture, hidden_act, rope type, sliding window).
// Absent keys take transformers' Qwen3Config defaults (rope_theta 10000, max_position_embeddings
// 32768, tie_word_embeddings false, ...). TrimKV: `retention_gate` names the gate; without it,
// `memory_size` alone means rg; absent TrimKV numbers take TrimKVQwen3Config's defaults
// (memory_size 1024, buffer_size 128, retention_gate_intermediate_size 512). A gate-less
// config leaves every TrimKV field zero. qk_norm is left true: the weight loader decides it.
Result<ModelConfig> load_model_config(const std::string& model_dir);

// Same, from JSON text (tests; `source` names it in errors).
Result<ModelConfig> parse_model_config(const std::string& json_text, const std::string& source);

}  // namespace trimserve
