#!/usr/bin/env python3
"""Writes a trained checkpoint (tools/train_base.py or tools/train_gates.py) as a Hugging Face
model directory that trimserve loads with no conversion.

    export_model.py --ckpt build-train/gates-shared/ckpt.pt --tokenizer build-train/tokenizer \
        --out deploy/models/NAME [--dtype BF16] [--no-gates]

The directory gets config.json (Qwen3ForCausalLM plus the TrimKV keys when the checkpoint has
trained gates), model.safetensors (tied embeddings stored once), tokenizer.json,
tokenizer_config.json and generation_config.json (greedy by default, stopping at <|im_end|> or
<|endoftext|>). A base checkpoint's untrained gates are never exported: --no-gates is implied.
The model card is written by hand from the training logs (see tools/retrain.sh).
"""
import argparse
import json
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qwen3_model as qm  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ckpt", required=True)
    ap.add_argument("--tokenizer", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--dtype", default="BF16", choices=["BF16", "F16", "F32"])
    ap.add_argument("--no-gates", action="store_true")
    a = ap.parse_args(argv)
    model, ck = qm.load_checkpoint(a.ckpt)
    trained_gates = "memory_size" in ck["extra"].get("args", {})  # written by train_gates.py
    with_gates = trained_gates and not a.no_gates
    with open(os.path.join(a.tokenizer, "tokenizer.json"), encoding="utf-8") as f:
        added = {t["content"]: t["id"] for t in json.load(f)["added_tokens"]}
    os.makedirs(a.out, exist_ok=True)
    model.export(a.out, added, dtype=a.dtype, with_gates=with_gates)
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(os.path.join(a.tokenizer, name), os.path.join(a.out, name))
    gen = {"bos_token_id": added["<|endoftext|>"],
           "eos_token_id": [added["<|im_end|>"], added["<|endoftext|>"]],
           "do_sample": False, "transformers_version": "4.51.0"}
    with open(os.path.join(a.out, "generation_config.json"), "w") as f:
        json.dump(gen, f, indent=2)
        f.write("\n")
    print(json.dumps({"out": a.out, "step": ck["step"], "gates": with_gates,
                      "parameters": qm.count_parameters(model, with_gates=with_gates),
                      "bytes": os.path.getsize(os.path.join(a.out, "model.safetensors"))}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
