#include "engine/weights.h"

#include <algorithm>
#include <set>
#include <utility>

#include "engine/safetensors.h"

namespace trimserve {
namespace {

std::string layer_prefix(int64_t l) { return "model.layers." + std::to_string(l) + "."; }
std::string gate_prefix(int64_t l) { return layer_prefix(l) + "self_attn.retention_gate."; }
constexpr const char* kSharedGatePrefix = "model.retention_gate.";

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Takes tensors out of a checkpoint one by one, validating dtype and shape, and remembers
// which ones were used so that leftovers can be reported.
class TensorTaker {
 public:
  explicit TensorTaker(const SafetensorsCheckpoint& ckpt) : ckpt_(ckpt) {}

  bool has(const std::string& name) const { return ckpt_.find(name) != nullptr; }
  const TensorView* view(const std::string& name) const { return ckpt_.find(name); }

  Status missing(const std::string& name) const {
    return not_found("missing tensor " + name + " (looked in " + ckpt_.files_description() + ")");
  }

  // Widens `name` into `dst` after checking it exists with `shape` and a float dtype.
  Status take(const std::string& name, const std::vector<int64_t>& shape, Tensor* dst) {
    const TensorView* v = ckpt_.find(name);
    if (v == nullptr) return missing(name);
    if (!is_weight_dtype(v->dtype)) {
      return invalid_argument(name + " in " + v->file_name + ": dtype " + dtype_name(v->dtype) +
                              ", expected F32, F16 or BF16");
    }
    if (v->shape != shape) {
      return invalid_argument(name + " in " + v->file_name + ": shape " + shape_to_string(v->shape) +
                              ", expected " + shape_to_string(shape));
    }
    Result<Tensor> t = tensor_to_f32(*v);
    if (!t.ok()) return t.status();
    *dst = std::move(t).value();
    used_.insert(name);
    return Status::ok_status();
  }

  void mark_used(const std::string& name) { used_.insert(name); }

  // Every tensor nobody took is an error (a sign of the wrong architecture or config), except
  // the rotary inv_freq buffers some exporters leave in.
  Status check_no_leftovers(const ModelConfig& c) const {
    std::vector<std::string> extra;
    for (const std::string& name : ckpt_.names()) {
      if (used_.count(name) == 0 && !ends_with(name, "rotary_emb.inv_freq")) extra.push_back(name);
    }
    if (extra.empty()) return Status::ok_status();
    std::string list;
    const size_t shown = std::min<size_t>(extra.size(), 8);
    bool gate_related = false;
    for (size_t i = 0; i < extra.size(); ++i) {
      gate_related |= extra[i].find("retention_gate") != std::string::npos;
      if (i >= shown) continue;
      if (i) list += ", ";
      list += extra[i] + " in " + ckpt_.find(extra[i])->file_name;
    }
    if (extra.size() > shown) list += " (and " + std::to_string(extra.size() - shown) + " more)";
    std::string hint;
    if (gate_related) {
      hint = std::string("; config.json says retention_gate=") + retention_gate_name(c.retention_gate) +
             ", retention_gate_shared_projection=" +
             (c.retention_gate_shared_projection ? "true" : "false");
    }
    return invalid_argument("unexpected tensor" + std::string(extra.size() > 1 ? "s " : " ") + list +
                            hint);
  }

 private:
  const SafetensorsCheckpoint& ckpt_;
  std::set<std::string> used_;
};

// A checkpoint whose config.json has no TrimKV keys but whose tensors carry gates: take the
// gate kind, I and the sharing from the tensors, and the TrimKV reference's M/buffer defaults.
void infer_gates_from_tensors(const TensorTaker& t, ModelConfig& c) {
  const std::string p = gate_prefix(0);
  const TensorView* first = nullptr;
  if ((first = t.view(p + "gate_proj.weight")) != nullptr) {
    c.retention_gate = RetentionGateKind::kRg3;
  } else if ((first = t.view(p + "linear1.weight")) != nullptr) {
    const bool kv_width = first->shape.size() == 2 &&
                          first->shape[1] == 2 * c.head_dim * c.num_key_value_heads &&
                          first->shape[1] != c.hidden_size;
    c.retention_gate = kv_width ? RetentionGateKind::kRg2 : RetentionGateKind::kRg;
  } else {
    return;
  }
  c.retention_gate_intermediate_size = first->shape.empty() ? 0 : first->shape[0];
  c.retention_gate_shared_projection = t.has(std::string(kSharedGatePrefix) + "bias");
  c.memory_size = 1024;
  c.buffer_size = 128;
}

Status load_gate(TensorTaker& t, const ModelConfig& c, int64_t l, RetentionGateWeights& g) {
  const std::string p = gate_prefix(l);
  const int64_t I = c.retention_gate_intermediate_size;
  const int64_t in = c.retention_gate_input_size();
  const int64_t hkv = c.num_key_value_heads;
  const bool shared = c.retention_gate_shared_projection;
  if (c.retention_gate == RetentionGateKind::kRg3) {
    TS_RETURN_IF_ERROR(t.take(p + "gate_proj.weight", {I, in}, &g.w1));
    TS_RETURN_IF_ERROR(t.take(p + "up_proj.weight", {I, in}, &g.w_up));
    if (!shared) TS_RETURN_IF_ERROR(t.take(p + "down_proj.weight", {hkv, I}, &g.own_w2));
  } else {
    TS_RETURN_IF_ERROR(t.take(p + "linear1.weight", {I, in}, &g.w1));
    TS_RETURN_IF_ERROR(t.take(p + "linear1.bias", {I}, &g.b1));
    if (!shared) TS_RETURN_IF_ERROR(t.take(p + "linear2.weight", {hkv, I}, &g.own_w2));
  }
  if (!shared) TS_RETURN_IF_ERROR(t.take(p + "bias", {hkv}, &g.own_bias));
  return Status::ok_status();
}

// q_norm/k_norm decide config.qk_norm: present in every layer or in none.
Status detect_qk_norm(const TensorTaker& t, ModelConfig& c) {
  int64_t present = 0;
  std::string some_present, some_missing;
  for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
    for (const char* which : {"q_norm", "k_norm"}) {
      const std::string name = layer_prefix(l) + "self_attn." + which + ".weight";
      if (t.has(name)) {
        ++present;
        if (some_present.empty()) some_present = name;
      } else if (some_missing.empty()) {
        some_missing = name;
      }
    }
  }
  if (present != 0 && present != 2 * c.num_hidden_layers) {
    return t.missing(some_missing).with_context(
        "q_norm/k_norm must exist in every layer or in none (" + some_present + " exists)");
  }
  c.qk_norm = present != 0;
  return Status::ok_status();
}

Status load_layer(TensorTaker& t, const ModelConfig& c, int64_t l, LayerWeights& w) {
  const std::string p = layer_prefix(l);
  const int64_t C = c.hidden_size, D = c.head_dim, H = c.num_attention_heads,
                Hkv = c.num_key_value_heads, F = c.intermediate_size;
  TS_RETURN_IF_ERROR(t.take(p + "input_layernorm.weight", {C}, &w.input_norm));
  TS_RETURN_IF_ERROR(t.take(p + "self_attn.q_proj.weight", {H * D, C}, &w.q_proj));
  TS_RETURN_IF_ERROR(t.take(p + "self_attn.k_proj.weight", {Hkv * D, C}, &w.k_proj));
  TS_RETURN_IF_ERROR(t.take(p + "self_attn.v_proj.weight", {Hkv * D, C}, &w.v_proj));
  TS_RETURN_IF_ERROR(t.take(p + "self_attn.o_proj.weight", {C, H * D}, &w.o_proj));
  if (c.attention_bias) {
    TS_RETURN_IF_ERROR(t.take(p + "self_attn.q_proj.bias", {H * D}, &w.q_bias));
    TS_RETURN_IF_ERROR(t.take(p + "self_attn.k_proj.bias", {Hkv * D}, &w.k_bias));
    TS_RETURN_IF_ERROR(t.take(p + "self_attn.v_proj.bias", {Hkv * D}, &w.v_bias));
    // transformers' Qwen3 puts attention_bias on o_proj too; accept checkpoints without it.
    if (t.has(p + "self_attn.o_proj.bias")) {
      TS_RETURN_IF_ERROR(t.take(p + "self_attn.o_proj.bias", {C}, &w.o_bias));
    }
  }
  if (c.qk_norm) {
    TS_RETURN_IF_ERROR(t.take(p + "self_attn.q_norm.weight", {D}, &w.q_norm));
    TS_RETURN_IF_ERROR(t.take(p + "self_attn.k_norm.weight", {D}, &w.k_norm));
  }
  TS_RETURN_IF_ERROR(t.take(p + "post_attention_layernorm.weight", {C}, &w.post_attention_norm));
  TS_RETURN_IF_ERROR(t.take(p + "mlp.gate_proj.weight", {F, C}, &w.gate_proj));
  TS_RETURN_IF_ERROR(t.take(p + "mlp.up_proj.weight", {F, C}, &w.up_proj));
  TS_RETURN_IF_ERROR(t.take(p + "mlp.down_proj.weight", {C, F}, &w.down_proj));
  if (c.has_retention_gates()) TS_RETURN_IF_ERROR(load_gate(t, c, l, w.gate));
  return Status::ok_status();
}

// A tied checkpoint may still carry lm_head.weight (some exporters write it); accept it only
// when it really is the embedding matrix, so a wrong tie flag cannot go unnoticed.
Status check_tied_lm_head(TensorTaker& t, const ModelWeights& mw) {
  if (!t.has("lm_head.weight")) return Status::ok_status();
  Tensor lm_head;
  TS_RETURN_IF_ERROR(t.take("lm_head.weight", mw.embed_tokens.shape, &lm_head));
  if (lm_head.data != mw.embed_tokens.data) {
    return invalid_argument("lm_head.weight in " + t.view("lm_head.weight")->file_name +
                            ": config.json says tie_word_embeddings but it differs from "
                            "model.embed_tokens.weight");
  }
  return Status::ok_status();
}

}  // namespace

Result<std::unique_ptr<ModelWeights>> load_model_weights(const std::string& model_dir) {
  Result<ModelConfig> config = load_model_config(model_dir);
  if (!config.ok()) return config.status();
  // The mapping lives only in this scope: every tensor is copied out (widened) below.
  Result<std::unique_ptr<SafetensorsCheckpoint>> ckpt = SafetensorsCheckpoint::open_dir(model_dir);
  if (!ckpt.ok()) return ckpt.status();

  auto mw = std::make_unique<ModelWeights>();
  ModelConfig& c = mw->config;
  c = std::move(config).value();
  TensorTaker t(**ckpt);
  if (!c.has_retention_gates()) infer_gates_from_tensors(t, c);
  TS_RETURN_IF_ERROR(detect_qk_norm(t, c));

  const int64_t V = c.vocab_size, C = c.hidden_size;
  TS_RETURN_IF_ERROR(t.take("model.embed_tokens.weight", {V, C}, &mw->embed_tokens));
  mw->layers.resize(static_cast<size_t>(c.num_hidden_layers));  // never resized again: gates point in
  for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
    TS_RETURN_IF_ERROR(load_layer(t, c, l, mw->layers[static_cast<size_t>(l)]));
  }
  TS_RETURN_IF_ERROR(t.take("model.norm.weight", {C}, &mw->final_norm));
  if (c.tie_word_embeddings) {
    TS_RETURN_IF_ERROR(check_tied_lm_head(t, *mw));
  } else {
    TS_RETURN_IF_ERROR(t.take("lm_head.weight", {V, C}, &mw->lm_head));
  }
  if (c.has_retention_gates() && c.retention_gate_shared_projection) {
    const std::string w2 = c.retention_gate == RetentionGateKind::kRg3 ? "down_proj.weight"
                                                                       : "linear2.weight";
    TS_RETURN_IF_ERROR(t.take(kSharedGatePrefix + w2,
                              {c.num_key_value_heads, c.retention_gate_intermediate_size},
                              &mw->shared_gate_w2));
    TS_RETURN_IF_ERROR(t.take(std::string(kSharedGatePrefix) + "bias", {c.num_key_value_heads},
                              &mw->shared_gate_bias));
  }
  TS_RETURN_IF_ERROR(t.check_no_leftovers(c));

  if (c.has_retention_gates()) {
    for (LayerWeights& layer : mw->layers) {
      RetentionGateWeights& g = layer.gate;
      g.w2 = c.retention_gate_shared_projection ? &mw->shared_gate_w2 : &g.own_w2;
      g.bias = c.retention_gate_shared_projection ? &mw->shared_gate_bias : &g.own_bias;
    }
  }
  return mw;
}

}  // namespace trimserve
