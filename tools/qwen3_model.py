"""A trainable Qwen3 (+ TrimKV retention gates) in PyTorch, for training trimserve's embedded
default model on CPU (tools/train_base.py, tools/train_gates.py).

Parameter names are exactly the Hugging Face checkpoint names trimserve loads (engine/weights.h,
tools/reference.py): model.embed_tokens, model.layers.N.{input_layernorm, self_attn.{q,k,v,o}_proj,
self_attn.{q,k}_norm, post_attention_layernorm, mlp.{gate,up,down}_proj}, model.norm, and the
retention gate per layer model.layers.N.self_attn.retention_gate.{linear1.weight, linear1.bias,
linear2.weight, bias} ("rg": input = the attention block's normed input) — or, with the DBTrimKV
shared final projection, one model.retention_gate.{linear2.weight, bias} for all layers. The
lm_head is tied to the embeddings. export() writes a model directory the daemon loads as is.

The math is the engine's (DESIGN.md §3): RMSNorm, per-head QK-norm, RoPE (angles in float32 as
Hugging Face computes them), GQA, SwiGLU; logβ = logsigmoid(gate). Training-time attention has two
forms:
  * full: causal softmax attention (the base model);
  * decayed (TrimKV's training form): query i weighs key j by β_j^(i-j), i.e. its logit gets
    (i-j)·logβ_j added — a key whose retention has decayed away contributes nothing, as if it had
    been evicted, and the gates learn which keys can decay. `retained_mass` is Σ_j β_j^(i-j) per
    query and kv head: the soft number of entries a lane holds at step i, which the capacity
    penalty keeps under the budget M.
"""
import json
import math
import os
import sys
from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_io  # noqa: E402


@dataclass
class Shape:
    vocab_size: int
    hidden_size: int = 256
    num_layers: int = 6
    num_heads: int = 4
    num_kv_heads: int = 2
    head_dim: int = 64
    intermediate_size: int = 768
    max_position_embeddings: int = 2048
    rope_theta: float = 10000.0
    rms_norm_eps: float = 1e-6
    # TrimKV: "" = no gates; "rg" (per-layer gates on the attention input).
    retention_gate: str = "rg"
    gate_intermediate_size: int = 64
    gate_shared_projection: bool = False  # DBTrimKV: one final projection for all layers
    memory_size: int = 128
    buffer_size: int = 32
    floor_budget_ratio: float = 0.0

    @staticmethod
    def from_json(d):
        return Shape(**d)


class RMSNorm(nn.Module):
    def __init__(self, n, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(n))
        self.eps = eps

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


class GateProjection(nn.Module):
    """The final projection of a retention gate: r = W2 h + bias (one per layer, or shared)."""

    def __init__(self, intermediate, kv_heads, bias_init):
        super().__init__()
        self.linear2 = nn.Linear(intermediate, kv_heads, bias=False)
        nn.init.normal_(self.linear2.weight, std=0.02)
        # A large bias starts every β near 1: the decayed model begins as the full model.
        self.bias = nn.Parameter(torch.full((kv_heads,), float(bias_init)))

    def forward(self, h):
        return self.linear2(h) + self.bias


class RetentionGate(nn.Module):
    """"rg": logβ [B, T, Hkv] = logsigmoid(final(silu(W1 a + b1))) of the normed input a."""

    def __init__(self, shape, shared_final, bias_init):
        super().__init__()
        self.linear1 = nn.Linear(shape.hidden_size, shape.gate_intermediate_size, bias=True)
        nn.init.normal_(self.linear1.weight, std=1.0 / math.sqrt(shape.hidden_size))
        nn.init.zeros_(self.linear1.bias)
        self.shared_final = shared_final
        if shared_final is None:
            own = GateProjection(shape.gate_intermediate_size, shape.num_kv_heads, bias_init)
            self.linear2, self.bias = own.linear2, own.bias

    def forward(self, a, shared=None):
        h = F.silu(self.linear1(a))
        if self.shared_final is None:
            return F.logsigmoid(self.linear2(h) + self.bias)
        return F.logsigmoid(shared(h))


def rope_cos_sin(shape, T, device=None):
    """cos/sin [T, D], float32 angles as Hugging Face's Qwen3 rotary embedding computes them."""
    D = shape.head_dim
    inv_freq = 1.0 / (shape.rope_theta ** (torch.arange(0, D, 2, dtype=torch.int64).float() / D))
    pos = torch.arange(T, dtype=torch.float32)
    freqs = pos[:, None] * inv_freq[None, :]
    emb = torch.cat([freqs, freqs], dim=-1)
    return emb.cos(), emb.sin()


def apply_rope(x, cos, sin):
    """x [B, heads, T, D]; rotate_half(x) = cat(-x[D/2:], x[:D/2])."""
    half = x.shape[-1] // 2
    rot = torch.cat([-x[..., half:], x[..., :half]], dim=-1)
    return x * cos + rot * sin


def causal_attention(q, k, v, decay, scale, chunk=256):
    """softmax(q·kᵀ·scale + bias)·v with grouped kv heads. q [B, H, T, D]; k, v [B, Hkv, T, D];
    bias = decay [B, Hkv, T, T] (-inf above the diagonal) or, when None, the causal mask.
    Returns [B, H, T, D].

    The plain softmax form (Debian's torch 1.13 has no scaled_dot_product_attention), shaped
    for CPU speed, which bounds how much the embedded model can learn in a session: the G
    query heads of a kv head are stacked into one matrix (no repeated k/v), the scale and mask
    ride in baddbmm, and queries go in chunks that see only the keys up to their last
    position, so the upper triangle is mostly never computed."""
    B, H, T, D = q.shape
    Hkv = k.shape[1]
    G = H // Hkv
    q = q.reshape(B * Hkv, G, T, D)
    k = k.reshape(B * Hkv, T, D)
    v = v.reshape(B * Hkv, T, D)
    outs = []
    for s in range(0, T, chunk):
        e = min(T, s + chunk)
        qc = q[:, :, s:e].reshape(B * Hkv, G * (e - s), D)
        if decay is None:
            bias = torch.zeros(e - s, e)
            bias[:, s:] = torch.full((e - s, e - s), float("-inf")).triu(1)
            bias = bias.repeat(G, 1)                                # [G·(e-s), e]
        else:
            bias = decay[:, :, s:e, :e].reshape(B * Hkv, 1, e - s, e).expand(
                B * Hkv, G, e - s, e).reshape(B * Hkv, G * (e - s), e)
        scores = torch.baddbmm(bias, qc, k[:, :e].transpose(1, 2), alpha=scale)
        outs.append((torch.softmax(scores, dim=-1) @ v[:, :e]).view(B * Hkv, G, e - s, D))
    return torch.cat(outs, dim=2).view(B, H, T, D)


class Attention(nn.Module):
    def __init__(self, shape, shared_gate_final, gate_bias_init):
        super().__init__()
        C, H, Hkv, D = shape.hidden_size, shape.num_heads, shape.num_kv_heads, shape.head_dim
        self.H, self.Hkv, self.D = H, Hkv, D
        self.q_proj = nn.Linear(C, H * D, bias=False)
        self.k_proj = nn.Linear(C, Hkv * D, bias=False)
        self.v_proj = nn.Linear(C, Hkv * D, bias=False)
        self.o_proj = nn.Linear(H * D, C, bias=False)
        self.q_norm = RMSNorm(D, shape.rms_norm_eps)
        self.k_norm = RMSNorm(D, shape.rms_norm_eps)
        self.retention_gate = (RetentionGate(shape, shared_gate_final, gate_bias_init)
                               if shape.retention_gate else None)

    def forward(self, a, cos, sin, decayed, shared_gate):
        """a: normed input [B, T, C]. Returns (output [B, T, C], logβ [B, T, Hkv] or None,
        retained mass [B, Hkv, T] or None)."""
        B, T, _ = a.shape
        q = self.q_norm(self.q_proj(a).view(B, T, self.H, self.D)).transpose(1, 2)
        k = self.k_norm(self.k_proj(a).view(B, T, self.Hkv, self.D)).transpose(1, 2)
        v = self.v_proj(a).view(B, T, self.Hkv, self.D).transpose(1, 2)
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        log_beta = mass = decay = None
        if decayed:
            log_beta = self.retention_gate(a, shared_gate)  # [B, T, Hkv]
            i = torch.arange(T)
            dist = (i[:, None] - i[None, :]).float()        # i - j
            # (i-j)·logβ_j for j <= i; -inf above the diagonal. [B, Hkv, T, T]
            decay = dist.clamp(min=0) * log_beta.transpose(1, 2)[:, :, None, :]
            decay = decay.masked_fill(dist < 0, float("-inf"))
            mass = decay.exp().sum(-1)                     # Σ_j β_j^(i-j)  [B, Hkv, T]
        out = causal_attention(q, k, v, decay, 1.0 / math.sqrt(self.D))
        out = out.transpose(1, 2).reshape(B, T, self.H * self.D)
        return self.o_proj(out), log_beta, mass


class MLP(nn.Module):
    def __init__(self, shape):
        super().__init__()
        C, F_ = shape.hidden_size, shape.intermediate_size
        self.gate_proj = nn.Linear(C, F_, bias=False)
        self.up_proj = nn.Linear(C, F_, bias=False)
        self.down_proj = nn.Linear(F_, C, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class Layer(nn.Module):
    def __init__(self, shape, shared_gate_final, gate_bias_init):
        super().__init__()
        self.input_layernorm = RMSNorm(shape.hidden_size, shape.rms_norm_eps)
        self.self_attn = Attention(shape, shared_gate_final, gate_bias_init)
        self.post_attention_layernorm = RMSNorm(shape.hidden_size, shape.rms_norm_eps)
        self.mlp = MLP(shape)


class Body(nn.Module):
    """`model.*` of the checkpoint."""

    def __init__(self, shape, gate_bias_init):
        super().__init__()
        self.embed_tokens = nn.Embedding(shape.vocab_size, shape.hidden_size)
        shared = None
        if shape.retention_gate and shape.gate_shared_projection:
            self.retention_gate = GateProjection(shape.gate_intermediate_size, shape.num_kv_heads,
                                                 gate_bias_init)
            shared = True
        self.layers = nn.ModuleList([Layer(shape, shared, gate_bias_init)
                                     for _ in range(shape.num_layers)])
        self.norm = RMSNorm(shape.hidden_size, shape.rms_norm_eps)


class Qwen3(nn.Module):
    def __init__(self, shape, gate_bias_init=8.0, seed=0):
        super().__init__()
        torch.manual_seed(seed)
        self.shape = shape
        self.model = Body(shape, gate_bias_init)
        for name, p in self.named_parameters():
            if p.dim() == 2 and "retention_gate" not in name:
                nn.init.normal_(p, std=0.02)
        # Residual projections scaled down with depth (GPT-2's rule) for a stable start.
        for layer in self.model.layers:
            for p in (layer.self_attn.o_proj.weight, layer.mlp.down_proj.weight):
                nn.init.normal_(p, std=0.02 / math.sqrt(2 * shape.num_layers))

    def base_parameters(self):
        return [p for n, p in self.named_parameters() if "retention_gate" not in n]

    def gate_parameters(self):
        return [p for n, p in self.named_parameters() if "retention_gate" in n]

    def forward(self, ids, decayed=False):
        """ids [B, T] -> (logits [B, T, V], list of per-layer retained mass [B, Hkv, T] when
        decayed)."""
        B, T = ids.shape
        cos, sin = rope_cos_sin(self.shape, T)
        shared = getattr(self.model, "retention_gate", None)
        x = self.model.embed_tokens(ids)
        masses = []
        for layer in self.model.layers:
            out, _, mass = layer.self_attn(layer.input_layernorm(x), cos, sin, decayed, shared)
            x = x + out
            x = x + layer.mlp(layer.post_attention_layernorm(x))
            if mass is not None:
                masses.append(mass)
        x = self.model.norm(x)
        return x @ self.model.embed_tokens.weight.T, masses

    # ------------------------------------------------------------------------- export --------
    def config_json(self, tokenizer_ids, with_gates=True):
        s = self.shape
        c = {
            "architectures": ["Qwen3ForCausalLM"],
            "attention_bias": False,
            "attention_dropout": 0.0,
            "bos_token_id": tokenizer_ids["<|endoftext|>"],
            "eos_token_id": [tokenizer_ids["<|im_end|>"], tokenizer_ids["<|endoftext|>"]],
            "head_dim": s.head_dim,
            "hidden_act": "silu",
            "hidden_size": s.hidden_size,
            "initializer_range": 0.02,
            "intermediate_size": s.intermediate_size,
            "max_position_embeddings": s.max_position_embeddings,
            "max_window_layers": s.num_layers,
            "model_type": "qwen3",
            "num_attention_heads": s.num_heads,
            "num_hidden_layers": s.num_layers,
            "num_key_value_heads": s.num_kv_heads,
            "rms_norm_eps": s.rms_norm_eps,
            "rope_scaling": None,
            "rope_theta": s.rope_theta,
            "sliding_window": None,
            "tie_word_embeddings": True,
            "torch_dtype": "bfloat16",
            "transformers_version": "4.51.0",
            "use_cache": True,
            "use_sliding_window": False,
            "vocab_size": s.vocab_size,
        }
        if s.retention_gate and with_gates:
            c.update({"memory_size": s.memory_size, "buffer_size": s.buffer_size,
                      "retention_gate": s.retention_gate,
                      "retention_gate_intermediate_size": s.gate_intermediate_size,
                      "retention_gate_shared_projection": s.gate_shared_projection,
                      "floor_budget_ratio": s.floor_budget_ratio})
        return c

    def tensors(self, with_gates=True):
        """name -> float32 numpy array, checkpoint names (the tied lm_head is not stored)."""
        out = {}
        for name, p in self.state_dict().items():
            if "retention_gate" in name and not with_gates:
                continue
            out[name] = p.detach().to(torch.float32).cpu().numpy()
        return out

    def export(self, out_dir, tokenizer_ids, dtype="BF16", with_gates=True):
        """Writes config.json and model.safetensors (tokenizer files are the caller's)."""
        os.makedirs(out_dir, exist_ok=True)
        safetensors_io.save(os.path.join(out_dir, "model.safetensors"),
                            self.tensors(with_gates), dtype=dtype)
        with open(os.path.join(out_dir, "config.json"), "w") as f:
            json.dump(self.config_json(tokenizer_ids, with_gates), f, indent=2)
            f.write("\n")


def save_checkpoint(path, model, optimizer, step, extra=None):
    tmp = path + ".tmp"
    torch.save({"shape": asdict(model.shape), "model": model.state_dict(),
                "optimizer": optimizer.state_dict() if optimizer is not None else None,
                "step": step, "extra": extra or {}}, tmp)
    os.replace(tmp, path)  # a kill mid-write never leaves a torn checkpoint


def load_checkpoint(path, gate_bias_init=8.0):
    ck = torch.load(path, map_location="cpu", weights_only=False)
    model = Qwen3(Shape.from_json(ck["shape"]), gate_bias_init)
    model.load_state_dict(ck["model"])
    return model, ck


def load_hf_dir(model_dir, gate_bias_init=8.0):
    """The model a Qwen3(...).export() wrote (config.json + model.safetensors), as a Qwen3 in
    float32 — the reverse of export, so training can continue from a shipped model. Gates the
    directory does not carry keep their fresh initialisation."""
    with open(os.path.join(model_dir, "config.json")) as f:
        c = json.load(f)
    shape = Shape(vocab_size=c["vocab_size"], hidden_size=c["hidden_size"],
                  num_layers=c["num_hidden_layers"], num_heads=c["num_attention_heads"],
                  num_kv_heads=c["num_key_value_heads"], head_dim=c["head_dim"],
                  intermediate_size=c["intermediate_size"],
                  max_position_embeddings=c["max_position_embeddings"],
                  rope_theta=c["rope_theta"], rms_norm_eps=c["rms_norm_eps"],
                  retention_gate=c.get("retention_gate", "rg"),
                  gate_intermediate_size=c.get("retention_gate_intermediate_size", 64),
                  gate_shared_projection=c.get("retention_gate_shared_projection", False),
                  memory_size=c.get("memory_size", 128), buffer_size=c.get("buffer_size", 32),
                  floor_budget_ratio=c.get("floor_budget_ratio", 0.0))
    model = Qwen3(shape, gate_bias_init)
    tensors = safetensors_io.load_model_dir(model_dir)
    state = model.state_dict()
    unknown = sorted(set(tensors) - set(state))
    if unknown:
        raise ValueError(f"{model_dir}: tensors the model does not have: {unknown[:5]}")
    missing = sorted(n for n in state if n not in tensors and "retention_gate" not in n)
    if missing:
        raise ValueError(f"{model_dir}: base tensors missing: {missing[:5]}")
    for name, value in tensors.items():
        if tuple(value.shape) != tuple(state[name].shape):
            raise ValueError(f"{model_dir}: {name} has shape {tuple(value.shape)}, "
                             f"expected {tuple(state[name].shape)}")
        state[name] = torch.from_numpy(value.astype(np.float32))
    model.load_state_dict(state)
    return model


def count_parameters(model, with_gates=False):
    return sum(p.numel() for n, p in model.named_parameters()
               if with_gates or "retention_gate" not in n)


def token_windows(tokens, seq_len, batch, generator):
    """A batch [batch, seq_len + 1] of random windows of a 1-D int tensor (inputs + targets)."""
    starts = torch.randint(0, len(tokens) - seq_len - 1, (batch,), generator=generator)
    return torch.stack([tokens[s:s + seq_len + 1] for s in starts.tolist()]).long()


def load_tokens(path):
    """A token stream written by tools/tokenize_corpus.py (.npy, uint16 or int32)."""
    return torch.from_numpy(np.load(path).astype(np.int64))
