#!/usr/bin/env python3
"""Writes a tiny checkpoint in the *released* TrimKV layout, for testing convert_trimkv.py.

    make_tiny_trimkv_checkpoint.py --shape gqa2-untied-rg --out DIR

DIR/base/    a plain Qwen3 model (config.json without TrimKV keys, safetensors in the shape's
             dtype and sharding, tokenizer files): what the released config's base_model names.
DIR/trimkv/  trimkv_weights.pth (torch.save of the gate state dict) and config.json in the
             TrimKVQwen3Config style (architecture fields + base_model + TrimKV settings).

The tensors are exactly make_tiny_model.py's for the same shape, so converting DIR must
reproduce make_tiny_model.py's directory for that shape (gates narrowed to the base dtype).
Options vary what real checkpoints vary: tensor-name prefixes, the gate dtype, which TrimKV
keys the config spells out.
"""
import argparse
import os
import shutil
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_tiny_model as tiny  # noqa: E402

NAME_STYLES = {
    "model": lambda n: n,                              # model.layers.0.self_attn.retention_gate...
    "base_model": lambda n: "base_model.model." + n,   # a PEFT-wrapped save
    "bare": lambda n: n[len("model."):],               # layers.0.self_attn.retention_gate...
}


def write_checkpoint(shape, out_dir, name_style="model", gate_dtype="float32", config_keys="all"):
    base_dir, trimkv_dir = os.path.join(out_dir, "base"), os.path.join(out_dir, "trimkv")
    os.makedirs(base_dir)
    os.makedirs(trimkv_dir)
    tensors = tiny.model_tensors(shape)
    is_gate = lambda n: "retention_gate" in n  # noqa: E731
    tiny.write_weights(base_dir, {n: t for n, t in tensors.items() if not is_gate(n)}, shape.dtype, shape.shards)
    base_config = tiny.config_json(shape, with_trimkv=False)
    tiny.write_json(os.path.join(base_dir, "config.json"), base_config)
    tiny.write_json(os.path.join(base_dir, "generation_config.json"), tiny.generation_config_json(shape))
    tiny.write_tokenizer(base_dir, shape)

    rename = NAME_STYLES[name_style]
    dtype = getattr(torch, gate_dtype)
    state = {rename(n): torch.from_numpy(t.copy()).to(dtype) for n, t in tensors.items() if is_gate(n)}
    torch.save(state, os.path.join(trimkv_dir, "trimkv_weights.pth"))

    trimkv = tiny.trimkv_config(shape)
    if config_keys == "minimal":
        # What a checkpoint trained with the reference defaults may leave implicit.
        trimkv = {"memory_size": trimkv["memory_size"], "buffer_size": trimkv["buffer_size"]}
    config = dict(base_config)
    config.update({"architectures": ["TrimKVQwen3ForCausalLM"], "base_model": f"tiny/{shape.name}",
                   "trainable_params": "retention_gate", "retention_gate_bias_init": 10.0,
                   "compress_memory": True})
    config.update(trimkv)
    tiny.write_json(os.path.join(trimkv_dir, "config.json"), config)
    return base_dir, trimkv_dir


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    gated = sorted(s.name for s in tiny.SHAPES if s.gate)
    ap.add_argument("--shape", default="gqa2-untied-rg", choices=gated)
    ap.add_argument("--out", required=True, help="output directory (must not exist or be empty)")
    ap.add_argument("--name-style", default="model", choices=sorted(NAME_STYLES))
    ap.add_argument("--gate-dtype", default="float32", choices=("float32", "bfloat16", "float16"))
    ap.add_argument("--config-keys", default="all", choices=("all", "minimal"),
                    help="minimal: only memory_size/buffer_size; the rest is inferred on conversion")
    args = ap.parse_args(argv)
    if os.path.exists(args.out) and os.listdir(args.out):
        ap.error(f"{args.out} is not empty")
    shutil.rmtree(args.out, ignore_errors=True)
    base, trimkv = write_checkpoint(tiny.SHAPES_BY_NAME[args.shape], args.out, args.name_style,
                                    args.gate_dtype, args.config_keys)
    print(f"wrote {base} and {trimkv}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
