#!/usr/bin/env python3
"""Writes tiny random Qwen3 (+ TrimKV retention gate) models in Hugging Face format.

    make_tiny_model.py --all --out DIR          every shape, as DIR/<shape>/
    make_tiny_model.py --shape NAME --out DIR   one shape, as DIR/<shape>/
    make_tiny_model.py --list                   shape names and dimensions

Each model directory is complete: config.json (Qwen3ForCausalLM, plus the TrimKV keys when the
shape has gates), model.safetensors (or two shards + model.safetensors.index.json),
tokenizer.json, tokenizer_config.json (ChatML chat template), generation_config.json, and
tensor_samples.json: per tensor its dtype, shape, the sequential float64 sum of its values as
a reader sees them, and a few (flat index, value) samples, for loaders' tests.

Weights are random but deterministic (seeded by shape and tensor name) and scaled so that
activations stay O(1). Retention gates are deliberately far from their trained-checkpoint
initialisation (bias 10, tiny weights): their logβ varies strongly across tokens and heads so
that eviction by score visibly differs from eviction by recency.

Shape names are a contract: tests across the tree load them by name. Re-running is cheap: a
model whose files match the stamp written with them is left alone (use --force to rewrite).
"""
import argparse
import dataclasses
import hashlib
import json
import os
import shutil
import sys
import zlib

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_io  # noqa: E402
import tiny_tokenizer  # noqa: E402


@dataclasses.dataclass(frozen=True)
class Shape:
    name: str
    C: int            # hidden_size
    L: int            # num_hidden_layers
    H: int            # num_attention_heads
    Hkv: int          # num_key_value_heads
    D: int            # head_dim
    F: int            # intermediate_size
    gate: str = "rg"  # "rg" | "rg2" | "rg3" | "" (no gates, no TrimKV keys)
    I: int = 32       # retention_gate_intermediate_size
    shared: bool = False      # retention_gate_shared_projection
    qk_norm: bool = True
    tied: bool = False
    dtype: str = "F32"        # F32 | F16 | BF16
    shards: int = 1
    attention_bias: bool = False
    rope_scaling: tuple = ()  # ((key, value), ...) or () for null
    rope_theta: float = 1000000.0
    max_pos: int = 2048
    memory_size: int = 16
    buffer_size: int = 4
    floor: float = 0.0
    merges: int = 240         # BPE merges; V = 256 + merges + added tokens, rounded up to 64
    synthetic_words: int = 0  # extra pseudo-word training text (a big vocabulary needs it)
    eos_list: bool = False    # eos_token_id as a list in config.json


SHAPES = [
    Shape("gqa1-tied-rg", C=64, L=2, H=4, Hkv=4, D=16, F=192, tied=True),
    Shape("gqa2-untied-rg", C=64, L=3, H=4, Hkv=2, D=32, F=160, memory_size=32, buffer_size=8,
          floor=0.25, rope_theta=10000.0, eos_list=True),
    Shape("gqa4-noqknorm-shared", C=128, L=2, H=8, Hkv=2, D=16, F=256, qk_norm=False, shared=True,
          max_pos=4096),
    Shape("gqa2-rg2", C=64, L=2, H=4, Hkv=2, D=24, F=128, gate="rg2"),  # 2*D*Hkv != C
    Shape("gqa2-rg3-shared", C=64, L=3, H=4, Hkv=2, D=16, F=128, gate="rg3", shared=True,
          memory_size=24, buffer_size=6),
    Shape("gqa2-nogate", C=64, L=2, H=4, Hkv=2, D=16, F=128, gate="", max_pos=1024),
    Shape("gqa2-bf16-sharded", C=96, L=3, H=4, Hkv=2, D=24, F=256, dtype="BF16", shards=2),
    Shape("gqa2-f16", C=64, L=2, H=4, Hkv=2, D=16, F=192, dtype="F16"),
    Shape("gqa2-bias-linear-rope", C=64, L=2, H=4, Hkv=2, D=16, F=128, attention_bias=True,
          rope_scaling=(("rope_type", "linear"), ("factor", 2.0)), rope_theta=10000.0),
    Shape("large", C=512, L=8, H=8, Hkv=2, D=64, F=1536, I=128, dtype="BF16", max_pos=8192,
          memory_size=256, buffer_size=32, merges=1783, synthetic_words=2000),
]
SHAPES_BY_NAME = {s.name: s for s in SHAPES}

_TORCH_DTYPE = {"F32": "float32", "F16": "float16", "BF16": "bfloat16"}
_tokenizers = {}


def tokenizer_for(shape):
    key = (shape.merges, shape.synthetic_words)
    if key not in _tokenizers:
        text = tiny_tokenizer.SAMPLE_TEXT
        if shape.synthetic_words:
            text += tiny_tokenizer.synthetic_text(shape.synthetic_words)
        merges = tiny_tokenizer.train_bpe(text, shape.merges)
        if len(merges) != shape.merges:
            raise SystemExit(f"{shape.name}: the training text yields only {len(merges)} merges")
        _tokenizers[key] = tiny_tokenizer.TinyTokenizer(merges)
    return _tokenizers[key]


def vocab_size(shape):
    return -(-tokenizer_for(shape).size // 64) * 64


class _Rng:
    """One generator per tensor name, so adding a tensor never changes the others."""

    def __init__(self, shape):
        self.shape = shape

    def normal(self, name, dims, std, mean=0.0):
        seed = zlib.crc32(f"{self.shape.name}/{name}".encode())
        g = np.random.Generator(np.random.PCG64(seed))
        return (mean + std * g.standard_normal(dims)).astype(np.float32)


def gate_tensors(shape, rng):
    """Retention-gate tensors (float32), per weights.h naming."""
    out = {}
    if not shape.gate:
        return out
    cin = shape.C if shape.gate == "rg" else 2 * shape.D * shape.Hkv
    # r = W2 h + bias with h = silu(W1 a + b1): W1 keeps pre-activations ~N(0, 1); W2 is large
    # enough that r varies by several units across tokens (std ~3); the per-head bias ~N(0.5, 1)
    # spreads heads apart. logsigmoid(r) then spans roughly [-8, 0) instead of sitting near 0.
    w2_std = 3.0 / np.sqrt(0.4 * shape.I)

    def final(prefix):
        w2_name = "down_proj.weight" if shape.gate == "rg3" else "linear2.weight"
        out[prefix + w2_name] = rng.normal(prefix + w2_name, (shape.Hkv, shape.I), w2_std)
        out[prefix + "bias"] = rng.normal(prefix + "bias", (shape.Hkv,), 1.0, mean=0.5)

    for l in range(shape.L):
        p = f"model.layers.{l}.self_attn.retention_gate."
        if shape.gate == "rg3":
            out[p + "gate_proj.weight"] = rng.normal(p + "gate_proj.weight", (shape.I, cin), 1.0 / np.sqrt(cin))
            out[p + "up_proj.weight"] = rng.normal(p + "up_proj.weight", (shape.I, cin), 1.5 / np.sqrt(cin))
        else:
            out[p + "linear1.weight"] = rng.normal(p + "linear1.weight", (shape.I, cin), 1.0 / np.sqrt(cin))
            out[p + "linear1.bias"] = rng.normal(p + "linear1.bias", (shape.I,), 0.5)
        if not shape.shared:
            final(p)
    if shape.shared:
        final("model.retention_gate.")
    return out


def model_tensors(shape):
    """Every tensor of the model as float32 arrays (before narrowing to shape.dtype)."""
    rng = _Rng(shape)
    C, D, H, Hkv, F, V = shape.C, shape.D, shape.H, shape.Hkv, shape.F, vocab_size(shape)
    t = {}

    def norm(name, n):
        t[name] = rng.normal(name, (n,), 0.1, mean=1.0)

    def linear(name, out_dim, in_dim, gain=1.0):
        t[name] = rng.normal(name, (out_dim, in_dim), gain / np.sqrt(in_dim))

    # Tied: logits = norm(x) . E, so E's rows set the logit scale (~3), not the residual's.
    t["model.embed_tokens.weight"] = rng.normal("model.embed_tokens.weight", (V, C), 3.0 / np.sqrt(C))
    for l in range(shape.L):
        p = f"model.layers.{l}."
        norm(p + "input_layernorm.weight", C)
        linear(p + "self_attn.q_proj.weight", H * D, C)
        linear(p + "self_attn.k_proj.weight", Hkv * D, C)
        linear(p + "self_attn.v_proj.weight", Hkv * D, C)
        linear(p + "self_attn.o_proj.weight", C, H * D)
        if shape.attention_bias:
            # transformers' Qwen3 gives o_proj a bias too when attention_bias is set.
            for proj, n in (("q_proj", H * D), ("k_proj", Hkv * D), ("v_proj", Hkv * D), ("o_proj", C)):
                t[p + f"self_attn.{proj}.bias"] = rng.normal(p + f"self_attn.{proj}.bias", (n,), 0.1)
        if shape.qk_norm:
            norm(p + "self_attn.q_norm.weight", D)
            norm(p + "self_attn.k_norm.weight", D)
        norm(p + "post_attention_layernorm.weight", C)
        linear(p + "mlp.gate_proj.weight", F, C)
        linear(p + "mlp.up_proj.weight", F, C)
        linear(p + "mlp.down_proj.weight", C, F)
    norm("model.norm.weight", C)
    if not shape.tied:
        linear("lm_head.weight", V, C, gain=2.0)
    t.update(gate_tensors(shape, rng))
    return t


def config_json(shape, with_trimkv=True):
    tok = tokenizer_for(shape)
    eot, im_end = tok.ids["<|endoftext|>"], tok.ids["<|im_end|>"]
    c = {
        "architectures": ["Qwen3ForCausalLM"],
        "attention_bias": shape.attention_bias,
        "attention_dropout": 0.0,
        "bos_token_id": eot,
        "eos_token_id": [im_end, eot] if shape.eos_list else im_end,
        "head_dim": shape.D,
        "hidden_act": "silu",
        "hidden_size": shape.C,
        "initializer_range": 0.02,
        "intermediate_size": shape.F,
        "max_position_embeddings": shape.max_pos,
        "max_window_layers": shape.L,
        "model_type": "qwen3",
        "num_attention_heads": shape.H,
        "num_hidden_layers": shape.L,
        "num_key_value_heads": shape.Hkv,
        "rms_norm_eps": 1e-06,
        "rope_scaling": dict(shape.rope_scaling) if shape.rope_scaling else None,
        "rope_theta": shape.rope_theta,
        "sliding_window": None,
        "tie_word_embeddings": shape.tied,
        "torch_dtype": _TORCH_DTYPE[shape.dtype],
        "transformers_version": "4.51.0",
        "use_cache": True,
        "use_sliding_window": False,
        "vocab_size": vocab_size(shape),
    }
    if shape.gate and with_trimkv:
        c.update(trimkv_config(shape))
    return c


def trimkv_config(shape):
    return {
        "memory_size": shape.memory_size,
        "buffer_size": shape.buffer_size,
        "retention_gate": shape.gate,
        "retention_gate_intermediate_size": shape.I,
        "retention_gate_shared_projection": shape.shared,
        "floor_budget_ratio": shape.floor,
    }


def generation_config_json(shape):
    tok = tokenizer_for(shape)
    eot, im_end = tok.ids["<|endoftext|>"], tok.ids["<|im_end|>"]
    return {"bos_token_id": eot, "do_sample": True, "eos_token_id": [im_end, eot],
            "pad_token_id": eot, "temperature": 0.6, "top_k": 20, "top_p": 0.95,
            "transformers_version": "4.51.0"}


def tensor_samples(tensors, dtype):
    """What a reader of the written files sees: dtype, shape, sum and a few values."""
    out = {}
    for name in sorted(tensors):
        seen = safetensors_io.narrow(tensors[name], dtype).ravel()
        n = seen.size
        idx = sorted({0, 1, n // 3, n // 2, (7 * n) // 9, n - 2, n - 1} & set(range(n)))
        out[name] = {
            "dtype": dtype,
            "shape": list(tensors[name].shape),
            # Sequential float64 accumulation in index order: a C++ loop reproduces it exactly.
            "sum": float(np.cumsum(seen.astype(np.float64))[-1]),
            "samples": [[int(i), float(seen[i])] for i in idx],
        }
    return out


def write_weights(out_dir, tensors, dtype, shards):
    if shards == 1:
        safetensors_io.save(os.path.join(out_dir, "model.safetensors"), tensors, dtype=dtype)
        return
    names = sorted(tensors)
    width = 2 if dtype in ("F16", "BF16") else 4
    sizes = [tensors[n].size * width for n in names]
    total, groups, acc = sum(sizes), [[] for _ in range(shards)], 0
    for n, size in zip(names, sizes):
        groups[min(shards - 1, acc * shards // total)].append(n)
        acc += size
    weight_map = {}
    for i, group in enumerate(groups):
        file_name = f"model-{i + 1:05d}-of-{shards:05d}.safetensors"
        safetensors_io.save(os.path.join(out_dir, file_name), {n: tensors[n] for n in group}, dtype=dtype)
        weight_map.update({n: file_name for n in group})
    write_json(os.path.join(out_dir, "model.safetensors.index.json"),
               {"metadata": {"total_size": total}, "weight_map": weight_map})


def write_json(path, obj):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=2, ensure_ascii=False)
        f.write("\n")


def write_tokenizer(out_dir, shape):
    tok = tokenizer_for(shape)
    write_json(os.path.join(out_dir, "tokenizer.json"), tok.tokenizer_json())
    write_json(os.path.join(out_dir, "tokenizer_config.json"),
               tok.tokenizer_config_json(tiny_tokenizer.CHAT_TEMPLATE, shape.max_pos))


def write_model(shape, out_dir):
    """Writes one complete model directory (its parent must exist; it must not)."""
    os.makedirs(out_dir)
    tensors = model_tensors(shape)
    write_weights(out_dir, tensors, shape.dtype, shape.shards)
    write_json(os.path.join(out_dir, "config.json"), config_json(shape))
    write_json(os.path.join(out_dir, "generation_config.json"), generation_config_json(shape))
    write_tokenizer(out_dir, shape)
    write_json(os.path.join(out_dir, "tensor_samples.json"), tensor_samples(tensors, shape.dtype))


STAMP = ".tiny_model_stamp"


def _generator_digest(shape):
    h = hashlib.sha256()
    here = os.path.dirname(os.path.abspath(__file__))
    for f in ("make_tiny_model.py", "tiny_tokenizer.py", "safetensors_io.py"):
        with open(os.path.join(here, f), "rb") as fh:
            h.update(fh.read())
    h.update(repr(shape).encode())
    return h.hexdigest()


def _files_digest(model_dir):
    h = hashlib.sha256()
    for name in sorted(os.listdir(model_dir)):
        if name == STAMP:
            continue
        h.update(name.encode())
        with open(os.path.join(model_dir, name), "rb") as f:
            h.update(f.read())
    return h.hexdigest()


def ensure_model(shape, out_root, force=False):
    """DIR/<shape.name>, rewritten unless an intact copy from this generator is already there."""
    final = os.path.join(out_root, shape.name)
    stamp_path = os.path.join(final, STAMP)
    want = _generator_digest(shape)
    if not force and os.path.exists(stamp_path):
        with open(stamp_path) as f:
            stamp = json.load(f)
        if stamp.get("generator") == want and stamp.get("files") == _files_digest(final):
            return final, False
    # Build beside the target and swap it in, so a reader never sees half a model.
    tmp = os.path.join(out_root, f".{shape.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    write_model(shape, tmp)
    write_json(os.path.join(tmp, STAMP), {"generator": want, "files": _files_digest(tmp)})
    shutil.rmtree(final, ignore_errors=True)
    os.rename(tmp, final)
    return final, True


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    what = ap.add_mutually_exclusive_group(required=True)
    what.add_argument("--all", action="store_true", help="write every shape")
    what.add_argument("--shape", action="append", choices=sorted(SHAPES_BY_NAME),
                      help="write this shape (repeatable)")
    what.add_argument("--list", action="store_true", help="print the shapes and exit")
    ap.add_argument("--out", help="output root; each model goes to OUT/<shape>")
    ap.add_argument("--force", action="store_true", help="rewrite even when up to date")
    args = ap.parse_args(argv)

    if args.list:
        for s in SHAPES:
            print(f"{s.name}: C={s.C} L={s.L} H={s.H} Hkv={s.Hkv} D={s.D} F={s.F} V={vocab_size(s)} "
                  f"gate={s.gate or 'none'} I={s.I if s.gate else 0} shared={s.shared} "
                  f"qk_norm={s.qk_norm} tied={s.tied} dtype={s.dtype} shards={s.shards}")
        return 0
    if not args.out:
        ap.error("--out is required")
    os.makedirs(args.out, exist_ok=True)
    shapes = SHAPES if args.all else [SHAPES_BY_NAME[n] for n in args.shape]
    for s in shapes:
        path, written = ensure_model(s, args.out, force=args.force)
        print(f"{'wrote' if written else 'up to date'}: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
