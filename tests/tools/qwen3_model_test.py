#!/usr/bin/env python3
"""Tests of tools/qwen3_model.py (the trainable model) and the two trainers, in seconds:
  1. an exported model (per-layer gates, and the DBTrimKV shared projection) is what the engine's
     reference reads: tools/reference.py's logits and logβ equal the training model's;
  2. with β = 1 everywhere (huge gate bias) decayed attention is full attention, and the retained
     mass at query i is i + 1; with β < 1 it is the geometric sum;
  3. train_base.py lowers the loss on a learnable stream and resumes from its checkpoint;
     train_gates.py lowers the capacity term and leaves the base weights untouched;
  4. export_model.py writes the trained gates' checkpoint as a directory `trimserve generate`
     serves with every policy; qwen3_model.load_hf_dir reads it back (weights as stored, bf16);
  5. train_base.py --init-from continues from that directory with recall drills in the batch
     (answer tokens weighted) and reports the held-out drills' answer loss and accuracy.
Plain python; exits non-zero on failure.
"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch

SRC = os.environ.get("TRIMSERVE_SRC") or os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(SRC, "tools"))
import qwen3_model as qm  # noqa: E402
import reference  # noqa: E402
import tiny_tokenizer  # noqa: E402

torch.set_num_threads(1)
problems = []


def check(cond, what):
    if not cond:
        problems.append(what)
        print("FAILED:", what)


def write_tokenizer(out_dir, tok):
    with open(os.path.join(out_dir, "tokenizer.json"), "w") as f:
        json.dump(tok.tokenizer_json(), f)
    with open(os.path.join(out_dir, "tokenizer_config.json"), "w") as f:
        json.dump(tok.tokenizer_config_json(tiny_tokenizer.CHAT_TEMPLATE, 2048), f)


def small_shape(vocab, shared):
    return qm.Shape(vocab_size=vocab, hidden_size=48, num_layers=2, num_heads=4, num_kv_heads=2,
                    head_dim=12, intermediate_size=80, gate_intermediate_size=8,
                    gate_shared_projection=shared, memory_size=8, buffer_size=2)


with tempfile.TemporaryDirectory() as tmp:
    tok = tiny_tokenizer.TinyTokenizer(tiny_tokenizer.train_bpe(tiny_tokenizer.synthetic_text(200), 40))
    vocab = tok.size
    prompt = [5, 17, 33, 2, 41, 9, 60, 7, 100, 3]
    for shared in (False, True):
        m = qm.Qwen3(small_shape(vocab, shared), gate_bias_init=1.5, seed=3)
        with torch.no_grad():
            for p in m.parameters():
                p.add_(torch.randn_like(p) * 0.05)
        out = os.path.join(tmp, f"model-{shared}")
        m.export(out, tok.ids, dtype="F32")
        write_tokenizer(out, tok)
        ref = reference.load_model(out)
        check(ref.gate_shared == shared, f"reference reads shared={ref.gate_shared}")
        r = reference.run(ref, prompt, forced_ids=[4, 8], policy="full")
        logits, _ = m(torch.tensor([prompt + [4]]))
        diff = np.abs(logits[0, len(prompt) - 1:].detach().numpy() - r.logits).max()
        check(diff < 1e-4, f"logits differ from the reference by {diff} (shared={shared})")
        for layer in range(2):
            a = m.model.embed_tokens(torch.tensor([prompt]))
            x = a
            for l in range(layer + 1):
                lay = m.model.layers[l]
                normed = lay.input_layernorm(x)
                if l == layer:
                    lb = lay.self_attn.retention_gate(normed, getattr(m.model, "retention_gate", None))
                    break
                cos, sin = qm.rope_cos_sin(m.shape, len(prompt))
                o, _, _ = lay.self_attn(normed, cos, sin, False, None)
                x = x + o
                x = x + lay.mlp(lay.post_attention_layernorm(x))
            ref_lb = r.cache.log_beta[layer * 2][:len(prompt)].numpy()
            d = np.abs(lb[0, :, 0].detach().numpy() - ref_lb).max()
            check(d < 1e-5, f"logβ of layer {layer} differs by {d} (shared={shared})")

    # 2. Decayed attention with β = 1 is full attention; masses are i + 1 or geometric.
    m = qm.Qwen3(small_shape(vocab, False), gate_bias_init=60.0, seed=4)
    ids = torch.tensor([prompt])
    full, _ = m(ids)
    dec, masses = m(ids, decayed=True)
    check(torch.allclose(full, dec, atol=1e-5), "β = 1 must give full attention")
    check(torch.allclose(masses[0][0, 0], torch.arange(1, len(prompt) + 1).float()),
          f"mass with β = 1: {masses[0][0, 0]}")
    m2 = qm.Qwen3(small_shape(vocab, False), gate_bias_init=0.0, seed=4)
    with torch.no_grad():
        for layer in m2.model.layers:
            layer.self_attn.retention_gate.linear2.weight.zero_()  # β = sigmoid(0) = 1/2
    _, masses = m2(ids, decayed=True)
    want = torch.tensor([sum(0.5 ** k for k in range(i + 1)) for i in range(len(prompt))])
    check(torch.allclose(masses[1][0, 1], want, atol=1e-5), f"geometric mass: {masses[1][0, 1]}")

    # 3. The trainers, a few steps each on a copy task.
    rng = np.random.default_rng(0)
    stream = []
    for _ in range(400):
        fact = list(rng.integers(10, 60, 4))
        stream += [1] + fact + list(rng.integers(10, 60, 8)) + [2] + fact
    np.save(os.path.join(tmp, "train.npy"), np.array(stream, dtype=np.uint16))
    base_dir, gate_dir = os.path.join(tmp, "base"), os.path.join(tmp, "gates")
    shape_flags = ["--layers", "2", "--hidden", "32", "--heads", "2", "--kv-heads", "1",
                   "--head-dim", "16", "--intermediate", "64", "--seq-len", "32", "--batch", "8",
                   "--threads", "1"]
    tools = os.path.join(SRC, "tools")

    def run(args):
        p = subprocess.run([sys.executable] + args, capture_output=True, text=True, timeout=300)
        check(p.returncode == 0, f"{args[0]}: exit {p.returncode}: {p.stderr[-400:]}")

    run([os.path.join(tools, "train_base.py"), "--tokens", os.path.join(tmp, "train.npy"),
         "--vocab-size", str(vocab), "--out", base_dir, "--steps", "40", "--warmup", "5", "--lr", "1e-2",
         "--ckpt-every", "20"] + shape_flags)
    losses = [json.loads(l)["loss"] for l in open(os.path.join(base_dir, "loss.jsonl"))]
    check(len(losses) == 40 and np.mean(losses[-5:]) < np.mean(losses[:5]) - 0.15,
          f"base loss did not fall: {losses[:5]} ... {losses[-5:]}")
    run([os.path.join(tools, "train_base.py"), "--tokens", os.path.join(tmp, "train.npy"),
         "--vocab-size", str(vocab), "--out", base_dir, "--steps", "45", "--warmup", "5", "--resume"]
        + shape_flags)
    steps = [json.loads(l)["step"] for l in open(os.path.join(base_dir, "loss.jsonl"))]
    check(steps[40:] == [41, 42, 43, 44, 45], f"resume continued at {steps[40:]}")
    run([os.path.join(tools, "train_gates.py"), "--base", os.path.join(base_dir, "ckpt.pt"),
         "--tokens", os.path.join(tmp, "train.npy"), "--out", gate_dir, "--memory-size", "8",
         "--buffer-size", "1", "--gate-intermediate", "8", "--gate-bias-init", "3",
         "--seq-len", "32", "--batch", "4", "--steps", "30", "--lr", "2e-2", "--threads", "1"])
    records = [json.loads(l) for l in open(os.path.join(gate_dir, "loss.jsonl"))]
    check(records[-1]["capacity"] < records[0]["capacity"],
          f"capacity did not fall: {records[0]['capacity']} -> {records[-1]['capacity']}")
    base, _ = qm.load_checkpoint(os.path.join(base_dir, "ckpt.pt"))
    gated, _ = qm.load_checkpoint(os.path.join(gate_dir, "ckpt.pt"))
    b, g = base.state_dict(), gated.state_dict()
    check(all(torch.equal(b[k], g[k]) for k in b if "retention_gate" not in k),
          "train_gates changed base weights")

    # 4. Export and serve.
    tok_dir, model_dir = os.path.join(tmp, "tok"), os.path.join(tmp, "exported")
    os.makedirs(tok_dir)
    write_tokenizer(tok_dir, tok)
    run([os.path.join(tools, "export_model.py"), "--ckpt", os.path.join(gate_dir, "ckpt.pt"),
         "--tokenizer", tok_dir, "--out", model_dir])
    cfg = json.load(open(os.path.join(model_dir, "config.json")))
    check(cfg.get("memory_size") == 8 and cfg.get("retention_gate") == "rg", f"config: {cfg}")
    binary = os.environ.get("TRIMSERVE_BIN")
    if binary:
        for policy in ("full", "window", "trimkv", "trimkv-global"):
            p = subprocess.run([binary, "generate", "--model", model_dir, "--prompt", "hello there",
                                "--max-tokens", "4", "--temperature", "0", "--kv-policy", policy,
                                "--json"], capture_output=True, text=True, timeout=120)
            check(p.returncode == 0, f"generate --kv-policy {policy}: {p.returncode} {p.stderr[-300:]}")
    else:
        print("TRIMSERVE_BIN not set: the served-model check is skipped")
    loaded = qm.load_hf_dir(model_dir).state_dict()
    check(set(loaded) == set(g) and all(torch.equal(loaded[k], g[k].to(torch.bfloat16).float()) for k in g),
          "load_hf_dir does not give back the exported (bf16) weights")

    # 5. Continued training with drills: answer weights 1 on the copied fact of each drill.
    drill_tokens, drill_weights = [], []
    for _ in range(300):
        fact = list(rng.integers(10, 60, 4))
        drill_tokens += [1] + fact + [2] + fact
        drill_weights += [0] * 6 + [1] * 4
    for name in ("drills", "heldout-drills"):
        np.savez(os.path.join(tmp, name + ".npz"), tokens=np.array(drill_tokens, dtype=np.uint16),
                 weights=np.array(drill_weights, dtype=np.uint8))
    cont_dir = os.path.join(tmp, "continued")
    run([os.path.join(tools, "train_base.py"), "--tokens", os.path.join(tmp, "train.npy"),
         "--vocab-size", str(vocab), "--out", cont_dir, "--init-from", model_dir, "--steps", "4",
         "--warmup", "1", "--eval-every", "2", "--eval-windows", "4",
         "--drills", os.path.join(tmp, "drills.npz"), "--drill-rows", "4", "--answer-weight", "5",
         "--heldout-drills", os.path.join(tmp, "heldout-drills.npz")] + shape_flags)
    evals = [json.loads(l) for l in open(os.path.join(cont_dir, "loss.jsonl")) if "drill_answer_loss" in l]
    check(len(evals) == 2 and all(0 <= e["drill_answer_accuracy"] <= 1 for e in evals),
          f"drill evaluations: {evals}")

if problems:
    print("FAILED:\n  " + "\n  ".join(problems))
    sys.exit(1)
print("qwen3_model_test: exports match the reference; decay and mass; trainers learn and resume")
