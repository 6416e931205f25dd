#include "engine/cpu/cpu_engine.h"

#include <algorithm>
#include <string>

#include "engine/cpu/attention.h"
#include "engine/cpu/matmul.h"
#include "engine/cpu/ops.h"
#include "engine/cpu/retention_gate.h"

namespace trimserve::cpu {

Result<std::unique_ptr<CpuEngine>> CpuEngine::create(std::shared_ptr<const ModelWeights> weights,
                                                     const CpuEngineOptions& options) {
  if (!weights) return invalid_argument("CpuEngine: no weights");
  if (options.num_pages <= 0 || options.page_size <= 0) {
    return invalid_argument("CpuEngine: num_pages and page_size must be positive");
  }
  auto rope = Rope::create(weights->config);
  if (!rope.ok()) return rope.status();
  return std::unique_ptr<CpuEngine>(new CpuEngine(std::move(weights), options, std::move(*rope)));
}

CpuEngine::CpuEngine(std::shared_ptr<const ModelWeights> weights, const CpuEngineOptions& options,
                     Rope rope)
    : weights_(std::move(weights)),
      pool_(options.num_threads),
      storage_(options.num_pages, options.page_size, weights_->config.head_dim),
      rope_(std::move(rope)) {}

Status CpuEngine::validate(const StepInput& input) const {
  const ModelConfig& c = weights_->config;
  const int64_t num_lanes = c.num_hidden_layers * c.num_key_value_heads;
  for (const SequenceStepInput& s : input.seqs) {
    const std::string who = "sequence " + std::to_string(s.seq);
    if (s.tokens.empty()) return invalid_argument(who + ": step has no tokens");
    for (int32_t id : s.tokens) {
      if (id < 0 || id >= c.vocab_size) {
        return invalid_argument(who + ": token id " + std::to_string(id) + " outside [0, " +
                                std::to_string(c.vocab_size) + ")");
      }
    }
    const int64_t end_pos = s.start_pos + static_cast<int64_t>(s.tokens.size());
    if (s.start_pos < 0 || end_pos > c.max_position_embeddings) {
      return out_of_range(who + ": positions up to " + std::to_string(end_pos) +
                          " exceed max_position_embeddings " +
                          std::to_string(c.max_position_embeddings));
    }
    if (static_cast<int64_t>(s.lanes.size()) != num_lanes) {
      return invalid_argument(who + ": expected " + std::to_string(num_lanes) + " lanes, got " +
                              std::to_string(s.lanes.size()));
    }
    for (const LaneView& lane : s.lanes) {
      if (lane.len + static_cast<int64_t>(s.tokens.size()) > lane.num_pages * page_size()) {
        return invalid_argument(who + ": a lane has no room for the step's entries");
      }
      for (int64_t p = 0; p < lane.num_pages; ++p) {
        if (lane.pages[p] < 0 || lane.pages[p] >= num_pages()) {
          return invalid_argument(who + ": page id outside the engine's storage");
        }
      }
    }
  }
  return Status();
}

Result<StepOutput> CpuEngine::step(const StepInput& input) {
  TS_RETURN_IF_ERROR(validate(input));
  const ModelConfig& c = weights_->config;
  const int64_t C = c.hidden_size, V = c.vocab_size, L = c.num_hidden_layers;
  const int64_t Hkv = c.num_key_value_heads;

  // Rows of the step: every token of every sequence, in input order.
  std::vector<int64_t> row_pos;
  std::vector<float> x;  // [T, C]
  for (const SequenceStepInput& s : input.seqs) {
    for (size_t t = 0; t < s.tokens.size(); ++t) {
      row_pos.push_back(s.start_pos + static_cast<int64_t>(t));
      const float* e = weights_->embed_tokens.ptr() + static_cast<int64_t>(s.tokens[t]) * C;
      x.insert(x.end(), e, e + C);
    }
  }
  const int64_t T = static_cast<int64_t>(row_pos.size());
  std::vector<float> log_beta(static_cast<size_t>(T * L * Hkv), 0.0f);  // [T, L, Hkv]

  for (int64_t l = 0; l < L; ++l) run_layer(l, input, row_pos, x, log_beta);

  // Final norm + lm_head only on the rows whose logits were asked for.
  StepOutput out;
  int64_t row0 = 0;
  const Tensor& lm_head = weights_->output_projection();
  for (const SequenceStepInput& s : input.seqs) {
    const int64_t Ts = static_cast<int64_t>(s.tokens.size());
    SequenceStepOutput so;
    so.seq = s.seq;
    so.num_logit_rows = s.logits == LogitsMode::kAll ? Ts : s.logits == LogitsMode::kLast ? 1 : 0;
    if (so.num_logit_rows > 0) {
      const int64_t first = row0 + Ts - so.num_logit_rows;
      std::vector<float> normed(static_cast<size_t>(so.num_logit_rows * C));
      rmsnorm(x.data() + first * C, weights_->final_norm.ptr(), normed.data(), so.num_logit_rows,
              C, static_cast<float>(c.rms_norm_eps));
      so.logits.resize(static_cast<size_t>(so.num_logit_rows * V));
      matmul_wt(pool_, normed.data(), lm_head.ptr(), nullptr, so.logits.data(), so.num_logit_rows,
                C, V);
    }
    so.log_beta.assign(log_beta.begin() + row0 * L * Hkv, log_beta.begin() + (row0 + Ts) * L * Hkv);
    out.seqs.push_back(std::move(so));
    row0 += Ts;
  }
  return out;
}

void CpuEngine::run_layer(int64_t layer, const StepInput& input, const std::vector<int64_t>& row_pos,
                          std::vector<float>& x, std::vector<float>& log_beta) {
  const ModelConfig& c = weights_->config;
  const LayerWeights& w = weights_->layers[layer];
  const int64_t T = static_cast<int64_t>(row_pos.size());
  const int64_t C = c.hidden_size, H = c.num_attention_heads, Hkv = c.num_key_value_heads;
  const int64_t D = c.head_dim, F = c.intermediate_size, L = c.num_hidden_layers;
  const float eps = static_cast<float>(c.rms_norm_eps);
  auto bias = [](const Tensor& b) { return b.empty() ? nullptr : b.ptr(); };

  // --- attention block -------------------------------------------------------------------
  std::vector<float> a(static_cast<size_t>(T * C));  // RMSNorm(x): attention and gate input
  rmsnorm(x.data(), w.input_norm.ptr(), a.data(), T, C, eps);
  std::vector<float> q(static_cast<size_t>(T * H * D));    // [T, H, D]
  std::vector<float> k(static_cast<size_t>(T * Hkv * D));  // [T, Hkv, D]
  std::vector<float> v(static_cast<size_t>(T * Hkv * D));  // [T, Hkv, D]
  matmul_wt(pool_, a.data(), w.q_proj.ptr(), bias(w.q_bias), q.data(), T, C, H * D);
  matmul_wt(pool_, a.data(), w.k_proj.ptr(), bias(w.k_bias), k.data(), T, C, Hkv * D);
  matmul_wt(pool_, a.data(), w.v_proj.ptr(), bias(w.v_bias), v.data(), T, C, Hkv * D);
  if (c.qk_norm) {  // per-head RMSNorm over D, before RoPE (Qwen3)
    rmsnorm(q.data(), w.q_norm.ptr(), q.data(), T * H, D, eps);
    rmsnorm(k.data(), w.k_norm.ptr(), k.data(), T * Hkv, D, eps);
  }
  for (int64_t t = 0; t < T; ++t) {
    rope_.apply(q.data() + t * H * D, H, row_pos[t]);
    rope_.apply(k.data() + t * Hkv * D, Hkv, row_pos[t]);
  }

  if (c.has_retention_gates()) {
    const int64_t I = c.retention_gate_intermediate_size;
    if (c.retention_gate == RetentionGateKind::kRg) {
      retention_gate(pool_, c.retention_gate, w.gate, a.data(), T, C, I, Hkv,
                     log_beta.data() + layer * Hkv, L * Hkv);
    } else {
      // rg2/rg3 input per token: [k_0, v_0, k_1, v_1, ...] (torch.cat([k, v], -1) flattened).
      std::vector<float> kv(static_cast<size_t>(T * Hkv * 2 * D));
      for (int64_t t = 0; t < T; ++t) {
        for (int64_t g = 0; g < Hkv; ++g) {
          float* dst = kv.data() + (t * Hkv + g) * 2 * D;
          std::copy_n(k.data() + (t * Hkv + g) * D, D, dst);
          std::copy_n(v.data() + (t * Hkv + g) * D, D, dst + D);
        }
      }
      retention_gate(pool_, c.retention_gate, w.gate, kv.data(), T, 2 * D * Hkv, I, Hkv,
                     log_beta.data() + layer * Hkv, L * Hkv);
    }
  }

  // Write the step's K/V into the lanes, then attend (each token sees its own entry).
  std::vector<float> attn(static_cast<size_t>(T * H * D));
  int64_t row0 = 0;
  for (const SequenceStepInput& s : input.seqs) {
    const int64_t Ts = static_cast<int64_t>(s.tokens.size());
    const LaneView* lanes = s.lanes.data() + layer * Hkv;
    for (int64_t t = 0; t < Ts; ++t) {
      for (int64_t g = 0; g < Hkv; ++g) {
        const int64_t idx = lanes[g].len + t;
        std::copy_n(k.data() + ((row0 + t) * Hkv + g) * D, D, storage_.k_entry(lanes[g], idx));
        std::copy_n(v.data() + ((row0 + t) * Hkv + g) * D, D, storage_.v_entry(lanes[g], idx));
      }
    }
    lane_attention(pool_, storage_, lanes, q.data() + row0 * H * D, attn.data() + row0 * H * D,
                   Ts, H, Hkv, D);
    row0 += Ts;
  }
  std::vector<float> o(static_cast<size_t>(T * C));
  matmul_wt(pool_, attn.data(), w.o_proj.ptr(), bias(w.o_bias), o.data(), T, H * D, C);
  add_inplace(x.data(), o.data(), T * C);

  // --- MLP block (SwiGLU) ------------------------------------------------------------------
  std::vector<float> b(static_cast<size_t>(T * C));
  rmsnorm(x.data(), w.post_attention_norm.ptr(), b.data(), T, C, eps);
  std::vector<float> gate(static_cast<size_t>(T * F)), up(static_cast<size_t>(T * F));
  matmul_wt(pool_, b.data(), w.gate_proj.ptr(), nullptr, gate.data(), T, C, F);
  matmul_wt(pool_, b.data(), w.up_proj.ptr(), nullptr, up.data(), T, C, F);
  swiglu_inplace(gate.data(), up.data(), T * F);
  matmul_wt(pool_, gate.data(), w.down_proj.ptr(), nullptr, o.data(), T, F, C);
  add_inplace(x.data(), o.data(), T * C);
}

}  // namespace trimserve::cpu
