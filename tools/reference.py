#!/usr/bin/env python3
"""Independent PyTorch reference of trimserve's model math (DESIGN.md §3).

Qwen3 forward (RMSNorm, optional per-head QK-norm, RoPE default/linear, GQA, SwiGLU MLP, tied or
untied lm_head, optional q/k/v/o biases), the TrimKV retention gates (rg, rg2, rg3, optionally
with the DBTrimKV shared final projection) and the KV eviction policies (tools/reference_policy.py),
run with exactly the engine's generation protocol:

  * the prompt is prefilled in chunks of `prefill_chunk` tokens; each chunk is ONE step: every
    layer attends over the lane's retained entries plus the chunk's earlier tokens, the chunk's
    K/V/logβ are appended to every lane, num_processed += len(chunk), then the policy compresses;
  * logits row 0 = logits at the last prompt token; then for i in 0..N-2 a 1-token step feeds
    forced id f_i (position n+i), compresses, and gives row i+1.

Computes in float32 (float64 with --float64); scores for eviction are float64 of the stored logβ.
Weights are read with tools/safetensors_io.py (F32/F16/BF16, single file or index + shards).

CLI:
  python3 tools/reference.py --model DIR --prompt-ids 1,2,3 [--forced-ids 4,5] \
      [--kv-policy full|window|trimkv|trimkv-global] [--kv-budget M] [--kv-buffer B] \
      [--window-sinks S] [--floor-ratio F] [--prefill-chunk N] [--logits-out FILE.npy] \
      [--dump-kv FILE.json] [--float64] [--max-tokens K --greedy]
Prints a one-line JSON summary on stdout.

API: load_model(dir, dtype=torch.float32) -> Model; run(model, prompt_ids, ...) -> Result.
"""
import argparse
import json
import math
import os
import sys
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reference_policy  # noqa: E402
import safetensors_io  # noqa: E402

# Tiny models: one thread is fastest (OpenMP spin-waits cost more than they save on a busy
# 2-core test box).
torch.set_num_threads(1)


# ----------------------------------------------------------------------------------- model --
@dataclass
class Model:
    cfg: dict              # config.json as read
    w: dict                # tensor name -> torch tensor (compute dtype)
    dtype: torch.dtype
    V: int
    C: int
    L: int
    H: int
    Hkv: int
    D: int
    eps: float
    theta: float
    rope_factor: float     # linear rope scaling: positions are divided by it
    qk_norm: bool
    attention_bias: bool
    gate: str              # "none" | "rg" | "rg2" | "rg3"
    gate_shared: bool
    memory_size: int
    buffer_size: int
    floor_ratio: float

    def t(self, name):
        return self.w[name]


def load_model(model_dir, dtype=torch.float32):
    with open(os.path.join(model_dir, "config.json")) as f:
        cfg = json.load(f)
    w = {k: torch.from_numpy(np.ascontiguousarray(v)).to(dtype)
         for k, v in safetensors_io.load_model_dir(model_dir).items()}
    C, H = int(cfg["hidden_size"]), int(cfg["num_attention_heads"])
    Hkv = int(cfg.get("num_key_value_heads") or H)
    D = int(cfg.get("head_dim") or C // H)
    L = int(cfg["num_hidden_layers"])
    if H % Hkv:
        raise ValueError(f"num_attention_heads {H} is not a multiple of num_key_value_heads {Hkv}")
    rs = cfg.get("rope_scaling") or None
    factor = 1.0
    if rs:
        kind = rs.get("rope_type", rs.get("type", "default"))
        if kind == "linear":
            factor = float(rs["factor"])
        elif kind != "default":
            raise ValueError(f"rope_scaling type {kind!r} is not supported (default, linear)")
    has_qn = [f"model.layers.{l}.self_attn.q_norm.weight" in w for l in range(L)]
    if any(has_qn) and not all(has_qn):
        raise ValueError("q_norm/k_norm present in some layers only")
    gate_prefix = "model.layers.0.self_attn.retention_gate."
    has_gate = any(k.startswith(gate_prefix) for k in w)
    gate = (cfg.get("retention_gate") or "rg") if has_gate else "none"
    if gate not in ("none", "rg", "rg2", "rg3"):
        raise ValueError(f"unknown retention_gate {gate!r}")
    shared = cfg.get("retention_gate_shared_projection")
    if shared is None:
        shared = "model.retention_gate.bias" in w
    if cfg.get("tie_word_embeddings", False):
        w["lm_head.weight"] = w["model.embed_tokens.weight"]
    elif "lm_head.weight" not in w:
        raise ValueError("lm_head.weight is missing and tie_word_embeddings is false")
    return Model(cfg=cfg, w=w, dtype=dtype, V=int(cfg["vocab_size"]), C=C, L=L, H=H, Hkv=Hkv, D=D,
                 eps=float(cfg.get("rms_norm_eps", 1e-6)),
                 theta=float(cfg.get("rope_theta", 1000000.0)), rope_factor=factor,
                 qk_norm=all(has_qn), attention_bias=bool(cfg.get("attention_bias", False)),
                 gate=gate, gate_shared=bool(shared) and gate != "none",
                 memory_size=int(cfg.get("memory_size") or 0),
                 buffer_size=int(cfg.get("buffer_size") or 0),
                 floor_ratio=float(cfg.get("floor_budget_ratio") or 0.0))


# ------------------------------------------------------------------------------- ops --------
def rms_norm(x, weight, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * weight


def linear(x, m, name, bias=False):
    y = x @ m.t(name + ".weight").T
    if bias:
        y = y + m.t(name + ".bias")
    return y


def rope_cos_sin(m, positions):
    """cos/sin [T, D] for the HF rotate_half layout (angles computed in float64)."""
    half = m.D // 2
    inv_freq = m.theta ** (-torch.arange(half, dtype=torch.float64) * 2.0 / m.D)
    pos = torch.as_tensor(positions, dtype=torch.float64) / m.rope_factor
    ang = pos[:, None] * inv_freq[None, :]
    emb = torch.cat([ang, ang], dim=-1)
    return emb.cos().to(m.dtype), emb.sin().to(m.dtype)


def apply_rope(x, cos, sin):
    """x [T, heads, D]; rotate_half(x) = cat(-x[D/2:], x[:D/2])."""
    half = x.shape[-1] // 2
    rot = torch.cat([-x[..., half:], x[..., :half]], dim=-1)
    return x * cos[:, None, :] + rot * sin[:, None, :]


def retention_log_beta(m, l, a, k, v):
    """logβ [T, Hkv] of layer l's new tokens; a = attention input [T, C], k/v post-RoPE."""
    T = a.shape[0]
    if m.gate == "none":
        return torch.zeros(T, m.Hkv, dtype=m.dtype)
    p = f"model.layers.{l}.self_attn.retention_gate"
    shared = "model.retention_gate"
    inp = a if m.gate == "rg" else torch.cat([k, v], dim=-1).reshape(T, 2 * m.D * m.Hkv)
    if m.gate in ("rg", "rg2"):
        h = F.silu(linear(inp, m, p + ".linear1", bias=True))
        final = (shared if m.gate_shared else p) + ".linear2"
        r = h @ m.t(final + ".weight").T
        if final + ".bias" in m.w:
            r = r + m.t(final + ".bias")
    else:  # rg3: SwiGLU-shaped gate, no biases on its three projections
        h = F.silu(inp @ m.t(p + ".gate_proj.weight").T) * (inp @ m.t(p + ".up_proj.weight").T)
        final = (shared if m.gate_shared else p) + ".down_proj"
        r = h @ m.t(final + ".weight").T
    r = r + m.t((shared if m.gate_shared else p) + ".bias")
    return F.logsigmoid(r)


# ------------------------------------------------------------------------------- cache ------
@dataclass
class KVCache:
    """Per lane (layer l, kv head h; lane = l*Hkv + h): k [n, D], v [n, D], pos [n], logβ [n]."""
    k: list
    v: list
    pos: list       # int64 tensors
    log_beta: list  # compute-dtype tensors (what the engine stores)
    num_processed: int = 0
    offered: int = 0

    @staticmethod
    def empty(m):
        n = m.L * m.Hkv
        return KVCache(k=[torch.zeros(0, m.D, dtype=m.dtype) for _ in range(n)],
                       v=[torch.zeros(0, m.D, dtype=m.dtype) for _ in range(n)],
                       pos=[torch.zeros(0, dtype=torch.int64) for _ in range(n)],
                       log_beta=[torch.zeros(0, dtype=m.dtype) for _ in range(n)])

    def lane_lens(self):
        return [len(p) for p in self.pos]

    def retained(self):
        return sum(self.lane_lens())


def forward_step(m, cache, ids):
    """Runs one engine step over `ids` at positions num_processed.., appends their K/V/logβ to
    every lane and returns logits [T, V]. Does not compress."""
    T = len(ids)
    start = cache.num_processed
    positions = torch.arange(start, start + T, dtype=torch.int64)
    cos, sin = rope_cos_sin(m, positions)
    G = m.H // m.Hkv
    scale = 1.0 / math.sqrt(m.D)
    causal = torch.ones(T, T, dtype=torch.bool).tril()
    x = m.t("model.embed_tokens.weight")[torch.as_tensor(ids, dtype=torch.int64)]
    for l in range(m.L):
        p = f"model.layers.{l}."
        a = rms_norm(x, m.t(p + "input_layernorm.weight"), m.eps)
        bias = m.attention_bias
        q = linear(a, m, p + "self_attn.q_proj", bias).reshape(T, m.H, m.D)
        k = linear(a, m, p + "self_attn.k_proj", bias).reshape(T, m.Hkv, m.D)
        v = linear(a, m, p + "self_attn.v_proj", bias).reshape(T, m.Hkv, m.D)
        if m.qk_norm:
            q = rms_norm(q, m.t(p + "self_attn.q_norm.weight"), m.eps)
            k = rms_norm(k, m.t(p + "self_attn.k_norm.weight"), m.eps)
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        log_beta = retention_log_beta(m, l, a, k, v)
        out = torch.empty(T, m.H, m.D, dtype=m.dtype)
        for h in range(m.Hkv):
            lane = l * m.Hkv + h
            n_old = len(cache.pos[lane])
            keys = torch.cat([cache.k[lane], k[:, h]], dim=0)    # [n_old + T, D]
            vals = torch.cat([cache.v[lane], v[:, h]], dim=0)
            qh = q[:, h * G:(h + 1) * G].transpose(0, 1)          # [G, T, D]
            logits = (qh @ keys.T) * scale                          # [G, T, n_old + T]
            mask = torch.cat([torch.ones(T, n_old, dtype=torch.bool), causal], dim=1)
            logits = logits.masked_fill(~mask, float("-inf"))
            out[:, h * G:(h + 1) * G] = (torch.softmax(logits, dim=-1) @ vals).transpose(0, 1)
            cache.k[lane], cache.v[lane] = keys, vals
            cache.pos[lane] = torch.cat([cache.pos[lane], positions])
            cache.log_beta[lane] = torch.cat([cache.log_beta[lane], log_beta[:, h]])
        x = x + linear(out.reshape(T, m.H * m.D), m, p + "self_attn.o_proj", bias)
        b = rms_norm(x, m.t(p + "post_attention_layernorm.weight"), m.eps)
        mlp = F.silu(linear(b, m, p + "mlp.gate_proj")) * linear(b, m, p + "mlp.up_proj")
        x = x + linear(mlp, m, p + "mlp.down_proj")
    cache.num_processed += T
    cache.offered += T * m.L * m.Hkv
    x = rms_norm(x, m.t("model.norm.weight"), m.eps)
    return x @ m.t("lm_head.weight").T


@dataclass
class Policy:
    name: str = "full"
    budget: int = 0
    buffer: int = 0
    sinks: int = 4
    floor_ratio: float = 0.0


def compress(m, cache, pol):
    """End-of-step compress: q = num_processed + 1; survivors keep their lane order."""
    if pol.name == "full":
        return
    keep = reference_policy.select(
        pol.name, [p.numpy() for p in cache.pos],
        [lb.to(torch.float64).numpy() for lb in cache.log_beta], cache.num_processed + 1,
        pol.budget, pol.buffer, pol.sinks, pol.floor_ratio, m.Hkv)
    for lane, idx in enumerate(keep):
        if len(idx) == len(cache.pos[lane]):
            continue
        idx = torch.from_numpy(idx)
        cache.k[lane], cache.v[lane] = cache.k[lane][idx], cache.v[lane][idx]
        cache.pos[lane], cache.log_beta[lane] = cache.pos[lane][idx], cache.log_beta[lane][idx]


def make_policy(m, name="full", budget=None, buffer=None, sinks=4, floor_ratio=None):
    if name not in reference_policy.POLICIES:
        raise ValueError(f"unknown kv policy {name!r}")
    budget = m.memory_size if budget is None else int(budget)
    if name != "full" and budget <= 0:
        raise ValueError(f"kv policy {name} needs a budget (--kv-budget or config memory_size)")
    if not 0.0 <= (m.floor_ratio if floor_ratio is None else float(floor_ratio)) < 1.0:
        raise ValueError("floor ratio must be in [0, 1)")
    if budget < 0 or (buffer is not None and int(buffer) < 0) or int(sinks) < 0:
        raise ValueError("kv budget, buffer and window sinks must be >= 0")
    return Policy(name=name, budget=budget, buffer=m.buffer_size if buffer is None else int(buffer),
                  sinks=int(sinks),
                  floor_ratio=m.floor_ratio if floor_ratio is None else float(floor_ratio))


# --------------------------------------------------------------------------------- run ------
@dataclass
class Result:
    logits: np.ndarray          # float32 [N, V]
    ids: list                   # the tokens fed/generated after the prompt (forced or greedy)
    cache: KVCache
    steps: int = 0
    lane_lens_per_step: list = field(default_factory=list)

    def dump_kv(self):
        c = self.cache
        return {"lanes": [[int(x) for x in p] for p in c.pos],
                "log_beta": [[float(x) for x in lb] for lb in c.log_beta],
                "retained": c.retained(), "offered": c.offered, "num_processed": c.num_processed}


def run(m, prompt_ids, forced_ids=None, policy="full", budget=None, buffer=None, sinks=4,
        floor_ratio=None, prefill_chunk=512, max_tokens=None, on_step=None):
    """The engine's generation protocol. With forced_ids (length N) returns N logits rows; with
    max_tokens=K (and no forced ids) generates K tokens greedily; otherwise N = 1.
    on_step(cache, step_index) is called after every step's compress."""
    if isinstance(policy, str):
        policy = make_policy(m, policy, budget, buffer, sinks, floor_ratio)
    if not prompt_ids:
        raise ValueError("empty prompt")
    bad = [t for t in list(prompt_ids) + list(forced_ids or []) if not 0 <= int(t) < m.V]
    if bad:
        raise ValueError(f"token id {bad[0]} outside the vocabulary [0, {m.V})")
    if prefill_chunk <= 0:
        raise ValueError("prefill_chunk must be positive")
    cache = KVCache.empty(m)
    res = Result(logits=None, ids=[], cache=cache)

    def step(ids):
        out = forward_step(m, cache, ids)
        compress(m, cache, policy)
        res.lane_lens_per_step.append(cache.lane_lens())
        if on_step is not None:
            on_step(cache, res.steps)
        res.steps += 1
        return out[-1]

    with torch.no_grad():
        for s in range(0, len(prompt_ids), prefill_chunk):
            last = step(list(prompt_ids[s:s + prefill_chunk]))
        rows = [last]
        if forced_ids:
            res.ids = list(forced_ids)
            for f in forced_ids[:-1]:
                rows.append(step([f]))
        elif max_tokens:
            res.ids.append(int(torch.argmax(last)))
            while len(res.ids) < max_tokens:
                rows.append(step([res.ids[-1]]))
                res.ids.append(int(torch.argmax(rows[-1])))
    res.logits = torch.stack(rows).to(torch.float32).numpy()
    return res


def _ids(text):
    return [int(t) for t in text.replace(" ", "").split(",") if t != ""] if text else []


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--prompt-ids", required=True, help="comma-separated token ids")
    ap.add_argument("--forced-ids", default="", help="comma-separated ids the engine generated")
    ap.add_argument("--kv-policy", default="full", choices=reference_policy.POLICIES)
    ap.add_argument("--kv-budget", type=int, default=None, help="M (default config memory_size)")
    ap.add_argument("--kv-buffer", type=int, default=None, help="default config buffer_size or 0")
    ap.add_argument("--window-sinks", type=int, default=4)
    ap.add_argument("--floor-ratio", type=float, default=None,
                    help="default config floor_budget_ratio or 0")
    ap.add_argument("--prefill-chunk", type=int, default=512)
    ap.add_argument("--logits-out", default=None, help="float32 [N, V] .npy")
    ap.add_argument("--dump-kv", default=None, help="final cache state as JSON")
    ap.add_argument("--float64", action="store_true")
    ap.add_argument("--max-tokens", type=int, default=None)
    ap.add_argument("--greedy", action="store_true")
    a = ap.parse_args(argv)
    if a.max_tokens is not None and not a.greedy:
        ap.error("--max-tokens needs --greedy (the reference only decodes greedily)")
    if a.greedy and a.forced_ids:
        ap.error("--greedy and --forced-ids are exclusive")
    try:
        m = load_model(a.model, torch.float64 if a.float64 else torch.float32)
        res = run(m, _ids(a.prompt_ids), _ids(a.forced_ids), a.kv_policy, a.kv_budget, a.kv_buffer,
                  a.window_sinks, a.floor_ratio, a.prefill_chunk,
                  max_tokens=(a.max_tokens or 1) if a.greedy else None)
    except (ValueError, KeyError, OSError) as e:
        print(f"reference.py: error: {e}", file=sys.stderr)
        return 2
    if a.logits_out:
        np.save(a.logits_out, res.logits)
    dump = res.dump_kv()
    if a.dump_kv:
        with open(a.dump_kv, "w") as f:
            json.dump(dump, f)
    summary = {"policy": a.kv_policy, "prompt_tokens": len(_ids(a.prompt_ids)),
               "rows": int(res.logits.shape[0]), "vocab": int(res.logits.shape[1]),
               "steps": res.steps, "num_processed": dump["num_processed"],
               "retained": dump["retained"], "offered": dump["offered"],
               "argmax": [int(i) for i in res.logits.argmax(axis=1)]}
    if a.greedy:
        summary["ids"] = res.ids
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
