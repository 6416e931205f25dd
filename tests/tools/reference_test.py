#!/usr/bin/env python3
"""Tests of tools/reference.py (the independent PyTorch reference of DESIGN.md §3).

Plain python; exits non-zero on failure. Run: TRIMSERVE_SRC=<repo root> python3 <this file>.
Builds its own random tiny models (tools/safetensors_io.save) in a temp dir and checks:
  1. full-policy logits do not depend on the prefill chunk and equal a naive whole-sequence
     causal forward (numpy float64, written here); the dumped logβ equal the naive gates;
  2. with a budget >= the sequence, trimkv / trimkv-global / window equal full;
  3. eviction choices equal a brute-force selection (sorted by the tie-break rule), on random
     (pos, logβ) sets with many ties and inside real runs (every compress is re-checked);
  4. budgets hold after every step;
  5. BF16/F16 storage (single file and sharded) is read back exactly;
  plus the CLI (files, summary line, greedy self-check).
"""
import json
import os
import random
import subprocess
import sys
import tempfile

import numpy as np

SRC = os.environ.get("TRIMSERVE_SRC") or os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(SRC, "tools"))
import reference  # noqa: E402
import reference_policy  # noqa: E402
import safetensors_io  # noqa: E402
import torch  # noqa: E402

FAILURES = []


def check(cond, what):
    if not cond:
        FAILURES.append(what)
        print("FAIL:", what)


# ------------------------------------------------------------------------- tiny models ------
SPECS = {
    # name: H, Hkv, D (None = C/H), C, L, qk_norm, tied, gate, shared, rope_scaling, bias
    "gqa2_qknorm_rg": dict(H=4, Hkv=2, D=8, C=24, L=2, qk_norm=True, tied=False, gate="rg",
                           shared=False, rope=None, bias=False),
    "mha_rg2_shared_linear_bias": dict(H=4, Hkv=4, D=None, C=24, L=2, qk_norm=False, tied=True,
                                       gate="rg2", shared=True,
                                       rope={"type": "linear", "factor": 2.0}, bias=True),
    "gqa2_rg3_shared": dict(H=4, Hkv=2, D=8, C=32, L=3, qk_norm=True, tied=True, gate="rg3",
                            shared=True, rope={"rope_type": "linear", "factor": 4.0}, bias=False),
    "mha_rg3": dict(H=2, Hkv=2, D=8, C=16, L=2, qk_norm=True, tied=False, gate="rg3",
                    shared=False, rope=None, bias=False),
    "gqa4_rg2": dict(H=4, Hkv=1, D=8, C=24, L=2, qk_norm=False, tied=False, gate="rg2",
                     shared=False, rope=None, bias=True),
    "rg_shared": dict(H=4, Hkv=2, D=4, C=16, L=2, qk_norm=True, tied=False, gate="rg",
                      shared=True, rope=None, bias=False),
    "nogate": dict(H=4, Hkv=2, D=8, C=24, L=2, qk_norm=True, tied=False, gate=None,
                   shared=False, rope=None, bias=False),
}
V, I_MLP, I_GATE = 50, 40, 16


def make_weights(spec, seed):
    rng = np.random.default_rng(seed)
    H, Hkv, C, L = spec["H"], spec["Hkv"], spec["C"], spec["L"]
    D = spec["D"] or C // H
    n = lambda *shape, s=0.3: (rng.standard_normal(shape) * s).astype(np.float32)  # noqa: E731
    w = {"model.embed_tokens.weight": n(V, C, s=1.0),
         "model.norm.weight": 1 + n(C, s=0.1)}
    if not spec["tied"]:
        w["lm_head.weight"] = n(V, C)
    gin = C if spec["gate"] == "rg" else 2 * D * Hkv
    for l in range(L):
        p = f"model.layers.{l}."
        w[p + "input_layernorm.weight"] = 1 + n(C, s=0.1)
        w[p + "post_attention_layernorm.weight"] = 1 + n(C, s=0.1)
        for name, out in (("q", H * D), ("k", Hkv * D), ("v", Hkv * D)):
            w[p + f"self_attn.{name}_proj.weight"] = n(out, C)
            if spec["bias"]:
                w[p + f"self_attn.{name}_proj.bias"] = n(out, s=0.2)
        w[p + "self_attn.o_proj.weight"] = n(C, H * D)
        if spec["bias"]:
            w[p + "self_attn.o_proj.bias"] = n(C, s=0.2)
        if spec["qk_norm"]:
            w[p + "self_attn.q_norm.weight"] = 1 + n(D, s=0.2)
            w[p + "self_attn.k_norm.weight"] = 1 + n(D, s=0.2)
        w[p + "mlp.gate_proj.weight"] = n(I_MLP, C)
        w[p + "mlp.up_proj.weight"] = n(I_MLP, C)
        w[p + "mlp.down_proj.weight"] = n(C, I_MLP)
        g = p + "self_attn.retention_gate."
        if spec["gate"] in ("rg", "rg2"):
            w[g + "linear1.weight"] = n(I_GATE, gin, s=0.5)
            w[g + "linear1.bias"] = n(I_GATE, s=0.5)
        elif spec["gate"] == "rg3":
            w[g + "gate_proj.weight"] = n(I_GATE, gin, s=0.5)
            w[g + "up_proj.weight"] = n(I_GATE, gin, s=0.5)
        if spec["gate"] and not spec["shared"]:
            w[g + ("down_proj" if spec["gate"] == "rg3" else "linear2") + ".weight"] = n(Hkv, I_GATE)
            w[g + "bias"] = n(Hkv, s=2.0)
    if spec["gate"] and spec["shared"]:
        w["model.retention_gate." + ("down_proj" if spec["gate"] == "rg3" else "linear2")
          + ".weight"] = n(Hkv, I_GATE)
        w["model.retention_gate.bias"] = n(Hkv, s=2.0)
    return w


def make_config(spec):
    cfg = {"architectures": ["Qwen3ForCausalLM"], "model_type": "qwen3", "vocab_size": V,
           "hidden_size": spec["C"], "intermediate_size": I_MLP,
           "num_hidden_layers": spec["L"], "num_attention_heads": spec["H"],
           "num_key_value_heads": spec["Hkv"], "rms_norm_eps": 1e-6, "rope_theta": 10000.0,
           "rope_scaling": spec["rope"], "max_position_embeddings": 4096,
           "tie_word_embeddings": spec["tied"], "attention_bias": spec["bias"],
           "hidden_act": "silu", "memory_size": 16, "buffer_size": 4}
    if spec["D"]:
        cfg["head_dim"] = spec["D"]
    if spec["gate"]:
        cfg.update(retention_gate=spec["gate"], retention_gate_intermediate_size=I_GATE,
                   retention_gate_shared_projection=spec["shared"])
    return cfg


def write_model(root, name, spec, weights, dtype="F32", shards=0):
    d = os.path.join(root, name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(make_config(spec), f)
    if not shards:
        safetensors_io.save(os.path.join(d, "model.safetensors"), weights, dtype)
        return d
    names = sorted(weights)
    weight_map = {}
    for i in range(shards):
        fname = f"model-{i + 1:05d}-of-{shards:05d}.safetensors"
        part = {k: weights[k] for k in names[i::shards]}
        safetensors_io.save(os.path.join(d, fname), part, dtype)
        weight_map.update({k: fname for k in part})
    with open(os.path.join(d, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {}, "weight_map": weight_map}, f)
    return d


# ------------------------------------------------------------- naive forward (numpy f64) ------
def naive_forward(spec, w, ids):
    """Whole-sequence causal forward, no cache. Returns logits [T, V], logβ [L, Hkv, T]."""
    w = {k: v.astype(np.float64) for k, v in w.items()}
    H, Hkv, C, L = spec["H"], spec["Hkv"], spec["C"], spec["L"]
    D = spec["D"] or C // H
    T = len(ids)

    def norm(x, g):
        return x / np.sqrt((x * x).mean(-1, keepdims=True) + 1e-6) * g

    def silu(x):
        return x / (1 + np.exp(-x))

    factor = spec["rope"]["factor"] if spec["rope"] else 1.0
    pos = np.arange(T, dtype=np.float64) / factor
    freq = 10000.0 ** (-(2.0 * np.arange(D // 2)) / D)
    ang = pos[:, None] * freq[None, :]                     # [T, D/2]
    cos, sin = np.cos(ang)[:, None, :], np.sin(ang)[:, None, :]

    def rope(x):  # pairs (i, i + D/2) rotate by ang_i
        x1, x2 = x[..., :D // 2], x[..., D // 2:]
        return np.concatenate([x1 * cos - x2 * sin, x2 * cos + x1 * sin], -1)

    x = w["model.embed_tokens.weight"][np.array(ids)]
    log_betas = np.zeros((L, Hkv, T))
    for l in range(L):
        p = f"model.layers.{l}."
        a = norm(x, w[p + "input_layernorm.weight"])
        proj = {}
        for name in "qkvo":
            b = w.get(p + f"self_attn.{name}_proj.bias", 0.0)
            proj[name] = (w[p + f"self_attn.{name}_proj.weight"], b)
        q = (a @ proj["q"][0].T + proj["q"][1]).reshape(T, H, D)
        k = (a @ proj["k"][0].T + proj["k"][1]).reshape(T, Hkv, D)
        v = (a @ proj["v"][0].T + proj["v"][1]).reshape(T, Hkv, D)
        if spec["qk_norm"]:
            q = norm(q, w[p + "self_attn.q_norm.weight"])
            k = norm(k, w[p + "self_attn.k_norm.weight"])
        q, k = rope(q), rope(k)
        out = np.zeros((T, H, D))
        for hq in range(H):
            hk = hq // (H // Hkv)
            s = q[:, hq] @ k[:, hk].T / np.sqrt(D)
            s = np.where(np.tril(np.ones((T, T))) > 0, s, -np.inf)
            s = np.exp(s - s.max(-1, keepdims=True))
            out[:, hq] = (s / s.sum(-1, keepdims=True)) @ v[:, hk]
        if spec["gate"]:
            g = p + "self_attn.retention_gate."
            sh = "model.retention_gate." if spec["shared"] else g
            if spec["gate"] == "rg":
                inp = a
            else:
                inp = np.stack([np.concatenate([k[:, h], v[:, h]], -1) for h in range(Hkv)], 1)
                inp = inp.reshape(T, -1)
            if spec["gate"] == "rg3":
                hid = silu(inp @ w[g + "gate_proj.weight"].T) * (inp @ w[g + "up_proj.weight"].T)
                r = hid @ w[sh + "down_proj.weight"].T + w[sh + "bias"]
            else:
                hid = silu(inp @ w[g + "linear1.weight"].T + w[g + "linear1.bias"])
                r = hid @ w[sh + "linear2.weight"].T + w[sh + "bias"]
            log_betas[l] = (-np.logaddexp(0.0, -r)).T
        x = x + out.reshape(T, H * D) @ proj["o"][0].T + proj["o"][1]
        b = norm(x, w[p + "post_attention_layernorm.weight"])
        hid = silu(b @ w[p + "mlp.gate_proj.weight"].T) * (b @ w[p + "mlp.up_proj.weight"].T)
        x = x + hid @ w[p + "mlp.down_proj.weight"].T
    x = norm(x, w["model.norm.weight"])
    lm = w["model.embed_tokens.weight"] if spec["tied"] else w["lm_head.weight"]
    return x @ lm.T, log_betas


# ---------------------------------------------------------------- brute-force selection ------
def brute_select(policy, lanes, q, M, B, sinks, f, Hkv):
    """lanes: list of [(pos, logβ)]; returns list of sets of kept indices."""
    score = lambda e: (q - e[0]) * float(e[1])  # noqa: E731  (python floats are doubles)
    n_lanes = len(lanes)
    if policy == "full":
        return [set(range(len(x))) for x in lanes]
    if policy in ("window", "trimkv"):
        out = []
        for lane in lanes:
            n = len(lane)
            if n < M + B:
                out.append(set(range(n)))
            elif policy == "window":
                s = min(sinks, M)
                out.append(set(range(s)) | set(range(n - (M - s), n)))
            else:
                ranked = sorted(range(n), key=lambda i: (-score(lane[i]), -lane[i][0]))
                out.append(set(ranked[:M]))
        return out
    total = sum(len(x) for x in lanes)
    if total < (M + B) * n_lanes:
        return [set(range(len(x))) for x in lanes]
    allent = [(li, i) for li, lane in enumerate(lanes) for i in range(len(lane))]
    key = lambda t: (-score(lanes[t[0]][t[1]]), -lanes[t[0]][t[1]][0], t[0] // Hkv, t[0] % Hkv)  # noqa: E731,E501
    ranked = sorted(allent, key=key)
    K = M * n_lanes
    if f == 0:
        out = [set() for _ in lanes]
        for li, i in ranked[:K]:
            out[li].add(i)
        return out
    counts = [0] * n_lanes
    for li, _ in ranked[:int(K * (1 - f))]:
        counts[li] += 1
    out = []
    for li, lane in enumerate(lanes):
        share = counts[li] + int(M * f)
        ranked_lane = sorted(range(len(lane)), key=lambda i: (-score(lane[i]), -lane[i][0]))
        out.append(set(ranked_lane[:share]))
    return out


def test_selection_random():
    rng = random.Random(7)
    pool = [0.0, -0.25, -0.5, -1.0, -1.5, -0.125]
    for trial in range(400):
        L, Hkv = rng.randint(1, 3), rng.randint(1, 3)
        q = rng.randint(5, 60)
        lanes = []
        for _ in range(L * Hkv):
            n = rng.randint(0, q - 1)
            pos = sorted(rng.sample(range(q - 1), n))
            lanes.append([(p, rng.choice(pool) if rng.random() < 0.7
                           else -rng.random() * 2) for p in pos])
        for policy in reference_policy.POLICIES:
            M, B = rng.randint(0, 12), rng.randint(0, 4)
            f = rng.choice([0.0, 0.0, 0.25, 0.5, 0.1, 0.3])
            sinks = rng.randint(0, 6)
            got = reference_policy.select(policy, [[e[0] for e in x] for x in lanes],
                                          [[e[1] for e in x] for x in lanes], q, M, B, sinks, f,
                                          Hkv)
            want = brute_select(policy, lanes, q, M, B, sinks, f, Hkv)
            ok = all(list(g) == sorted(wt) for g, wt in zip(got, want))
            check(ok, f"selection trial {trial} {policy} M={M} B={B} f={f} sinks={sinks}")


# ------------------------------------------------------------------------------- model tests --
def forced_protocol_rows(spec, w, prompt, forced):
    logits, log_betas = naive_forward(spec, w, list(prompt) + list(forced[:-1]))
    return logits[len(prompt) - 1:], log_betas


def test_model(root, name, spec, seed):
    w = make_weights(spec, seed)
    d = write_model(root, name, spec, w)
    rng = np.random.default_rng(seed + 100)
    prompt = [int(x) for x in rng.integers(0, V, 37)]
    forced = [int(x) for x in rng.integers(0, V, 9)]
    want, want_lb = forced_protocol_rows(spec, w, prompt, forced)
    m32 = reference.load_model(d)
    m64 = reference.load_model(d, torch.float64)
    total = len(prompt) + len(forced) - 1

    # (1) chunk independence and the naive forward.
    base = reference.run(m32, prompt, forced, "full", prefill_chunk=512)
    check(base.logits.shape == (len(forced), V), f"{name}: logits shape {base.logits.shape}")
    for chunk in (1, 5, 16, 37):
        r = reference.run(m32, prompt, forced, "full", prefill_chunk=chunk)
        diff = np.abs(r.logits - base.logits).max()
        check(diff <= 1e-5, f"{name}: chunk {chunk} differs from 512 by {diff}")
    diff32 = np.abs(base.logits - want).max()
    check(diff32 <= 1e-4, f"{name}: f32 reference vs naive differ by {diff32}")
    r64 = reference.run(m64, prompt, forced, "full", prefill_chunk=7)
    diff64 = np.abs(r64.logits - want).max()
    check(diff64 <= 1e-5, f"{name}: f64 reference vs naive differ by {diff64}")  # f32 output
    dump = r64.dump_kv()
    lb = np.array(dump["log_beta"]).reshape(spec["L"], spec["Hkv"], total)
    check(np.abs(lb - want_lb).max() <= 1e-10, f"{name}: logβ vs naive gates")
    check(dump["lanes"] == [list(range(total))] * (spec["L"] * spec["Hkv"]), f"{name}: lanes")
    check(dump["retained"] == dump["offered"] == total * spec["L"] * spec["Hkv"]
          and dump["num_processed"] == total, f"{name}: counters {dump}")
    if not spec["gate"]:
        check(np.all(lb == 0), f"{name}: no gate must mean logβ = 0")

    # (2) a budget the sequence never reaches: every policy equals full.
    for policy, kw in (("trimkv", {}), ("trimkv-global", {}),
                       ("trimkv-global", {"floor_ratio": 0.25}), ("window", {})):
        # (M = total, B = 0 does trigger a compress that must keep everything; not with a
        # floor, where int() rounding of the shares may drop entries even when all would fit.)
        for M, B in ((1000, 0), (total - 2, 3)) + (((total, 0),) if not kw else ()):
            r = reference.run(m32, prompt, forced, policy, budget=M, buffer=B, prefill_chunk=8,
                              **kw)
            check(np.array_equal(r.logits, base.logits) and r.dump_kv()["lanes"]
                  == base.dump_kv()["lanes"], f"{name}: {policy} {kw} M={M} B={B} != full")

    # (3)+(4) real runs with eviction: every compress re-checked by brute force; budgets hold.
    orig_compress = reference.compress
    for policy in ("trimkv", "trimkv-global", "window"):
        for M, B, chunk, f in ((6, 0, 8, 0.0), (5, 3, 5, 0.0), (8, 2, 64, 0.25), (4, 0, 1, 0.5)):
            state = {"n": 0}

            def checked_compress(m, cache, pol, _p=policy):
                q = cache.num_processed + 1
                lanes = [list(zip(p.tolist(), lb.to(torch.float64).tolist()))
                         for p, lb in zip(cache.pos, cache.log_beta)]
                before = [p.clone() for p in cache.pos]
                orig_compress(m, cache, pol)
                want_sets = brute_select(_p, lanes, q, pol.budget, pol.buffer, pol.sinks,
                                         pol.floor_ratio, m.Hkv)
                got = [set(int(x) for x in p) for p in cache.pos]
                exp = [set(int(before[i][j]) for j in s) for i, s in enumerate(want_sets)]
                check(got == exp, f"{name}: {_p} step compress differs from brute force")
                for p in cache.pos:
                    check(bool(torch.all(p[1:] > p[:-1])), f"{name}: lane order lost")
                state["n"] += 1

            def on_step(cache, i, _p=policy, _M=M, _B=B):
                lens = cache.lane_lens()
                if _p == "trimkv-global":
                    cap = max(_M * len(lens), (_M + _B) * len(lens) - 1)
                    check(sum(lens) <= cap, f"{name}: global budget {sum(lens)} > {cap}")
                else:
                    cap = max(_M, _M + _B - 1)
                    check(max(lens) <= cap, f"{name}: {_p} lane {max(lens)} > {cap}")

            reference.compress = checked_compress
            try:
                r = reference.run(m32, prompt, forced, policy, budget=M, buffer=B,
                                  prefill_chunk=chunk, floor_ratio=f, sinks=2, on_step=on_step)
            finally:
                reference.compress = orig_compress
            check(state["n"] == r.steps, f"{name}: compress ran {state['n']} of {r.steps} steps")
            d2 = r.dump_kv()
            check(d2["retained"] < d2["offered"], f"{name}: {policy} M={M} evicted nothing")
            check(np.all(np.isfinite(r.logits)), f"{name}: non-finite logits")


def test_storage_dtypes(root):
    spec = SPECS["gqa2_rg3_shared"]
    w = make_weights(spec, 99)
    prompt, forced = list(range(3, 30)), [5, 7, 11, 13]
    for dtype, shards in (("BF16", 0), ("F16", 0), ("BF16", 3), ("F32", 2)):
        d = write_model(root, f"store_{dtype}_{shards}", spec, w, dtype, shards)
        narrowed = {k: safetensors_io.narrow(v, dtype) for k, v in w.items()}
        m = reference.load_model(d)
        exact = all(np.array_equal(m.w[k].numpy(), narrowed[k]) for k in w)
        check(exact, f"{dtype} shards={shards}: weights not read back exactly")
        if dtype == "BF16":
            check(any(not np.array_equal(narrowed[k], w[k]) for k in w), "bf16 narrowed nothing")
        d32 = write_model(root, f"store_{dtype}_{shards}_as_f32", spec, narrowed, "F32")
        a = reference.run(m, prompt, forced, "trimkv", budget=6, buffer=1, prefill_chunk=10)
        b = reference.run(reference.load_model(d32), prompt, forced, "trimkv", budget=6,
                          buffer=1, prefill_chunk=10)
        check(np.array_equal(a.logits, b.logits), f"{dtype} shards={shards}: logits differ")


def test_cli(root):
    spec = SPECS["gqa2_qknorm_rg"]
    d = write_model(root, "cli", spec, make_weights(spec, 5))
    tool = os.path.join(SRC, "tools", "reference.py")
    logits, kv = os.path.join(root, "l.npy"), os.path.join(root, "kv.json")
    prompt = ",".join(str(i) for i in range(1, 30))
    out = subprocess.run([sys.executable, tool, "--model", d, "--prompt-ids", prompt,
                          "--max-tokens", "6", "--greedy", "--kv-policy", "trimkv-global",
                          "--prefill-chunk", "7"], capture_output=True, text=True)
    check(out.returncode == 0, f"cli greedy rc={out.returncode} {out.stderr}")
    greedy = json.loads(out.stdout.strip().splitlines()[-1])
    ids = greedy["ids"]
    check(len(ids) == 6 and greedy["argmax"] == ids, f"cli greedy summary {greedy}")
    out = subprocess.run([sys.executable, tool, "--model", d, "--prompt-ids", prompt,
                          "--forced-ids", ",".join(map(str, ids)), "--kv-policy", "trimkv-global",
                          "--prefill-chunk", "7", "--logits-out", logits, "--dump-kv", kv],
                         capture_output=True, text=True)
    check(out.returncode == 0, f"cli forced rc={out.returncode} {out.stderr}")
    summary = json.loads(out.stdout.strip().splitlines()[-1])
    arr = np.load(logits)
    check(arr.dtype == np.float32 and arr.shape == (6, V), f"cli logits {arr.dtype} {arr.shape}")
    check(list(arr.argmax(1)) == ids, "cli: forced run with greedy ids must reproduce them")
    dump = json.load(open(kv))
    M, B = 16, 4  # config memory_size / buffer_size
    check(dump["num_processed"] == 29 + 5 and dump["offered"] == 34 * 4
          and dump["retained"] == sum(map(len, dump["lanes"])) == summary["retained"]
          and len(dump["lanes"]) == 4 and dump["retained"] < (M + B) * 4, f"cli dump {dump}")
    out = subprocess.run([sys.executable, tool, "--model", d, "--prompt-ids", "1,2"],
                         capture_output=True, text=True)
    check(out.returncode == 0 and json.loads(out.stdout)["rows"] == 1, "cli default: one row")
    out = subprocess.run([sys.executable, tool, "--model", d, "--prompt-ids", "1,2",
                          "--kv-policy", "bogus"], capture_output=True, text=True)
    check(out.returncode == 2, "cli: bad policy must exit 2")
    out = subprocess.run([sys.executable, tool, "--model", d, "--prompt-ids", f"1,{V}"],
                         capture_output=True, text=True)
    check(out.returncode == 2 and "vocabulary" in out.stderr, "cli: bad token id must exit 2")
    out = subprocess.run([sys.executable, tool, "--model", d, "--prompt-ids", "1,2",
                          "--kv-policy", "trimkv", "--floor-ratio", "1.5"],
                         capture_output=True, text=True)
    check(out.returncode == 2, "cli: floor ratio 1.5 must exit 2")


def main():
    test_selection_random()
    with tempfile.TemporaryDirectory() as root:
        for i, (name, spec) in enumerate(SPECS.items()):
            test_model(root, name, spec, seed=i)
            print(f"model {name}: done")
        test_storage_dtypes(root)
        test_cli(root)
    if FAILURES:
        print(f"{len(FAILURES)} failure(s)")
        return 1
    print("reference_test: all passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
