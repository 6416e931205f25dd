"""The C++ CPU engine (through `trimserve generate`) against tools/reference.py, the
independent PyTorch implementation, on every tiny model shape and every KV policy.

For each (shape, policy) the engine generates greedily with a small budget, a small buffer and
a small prefill chunk (so the cache is compressed between prefill chunks and during decode);
the reference is then teacher-forced with the engine's tokens and must produce the same logits
(max error relative to the largest logit <= REL_TOL) and retain exactly the same entries
(positions per lane) at the end. A table of errors is written to
$TRIMSERVE_BUILD/reports/engine_vs_reference.md.
"""
import itertools
import json
import os
import subprocess
import sys
import tempfile
import zlib

import numpy as np

SRC = os.environ.get("TRIMSERVE_SRC", os.getcwd())
BUILD = os.environ.get("TRIMSERVE_BUILD", os.path.join(SRC, "build"))
BIN = os.environ.get("TRIMSERVE_BIN", os.path.join(BUILD, "trimserve"))
MODELS = os.environ.get("TRIMSERVE_TINY_MODELS", os.path.join(BUILD, "tiny-models"))
sys.path.insert(0, os.path.join(SRC, "tools"))

import torch  # noqa: E402
import reference  # noqa: E402

torch.set_num_threads(1)
REL_TOL = 1e-4
PROMPT_LEN = 70
MAX_TOKENS = 8
# (budget M, buffer, prefill chunk, window sinks): a buffered setting and an unbuffered one
# with a chunk that does not divide the prompt.
SETTINGS = [(12, 4, 16, 4), (20, 0, 7, 2)]


def shapes():
    names = sorted(d for d in os.listdir(MODELS) if os.path.isfile(os.path.join(MODELS, d, "config.json")))
    if not names:
        raise SystemExit(f"no tiny models under {MODELS}")
    return names


def run_engine(model_dir, prompt, policy, setting, tmp):
    BUDGET, BUFFER, CHUNK, SINKS = setting
    logits_path = os.path.join(tmp, "logits.npy")
    kv_path = os.path.join(tmp, "kv.json")
    cmd = [BIN, "generate", "--model", model_dir, "--prompt-ids", ",".join(map(str, prompt)),
           "--max-tokens", str(MAX_TOKENS), "--temperature", "0", "--ignore-eos",
           "--kv-policy", policy, "--prefill-chunk", str(CHUNK), "--threads", "2",
           "--logits-out", logits_path, "--dump-kv", kv_path, "--json"]
    if policy != "full":
        cmd += ["--kv-budget", str(BUDGET), "--kv-buffer", str(BUFFER), "--window-sinks", str(SINKS)]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed ({p.returncode}): {p.stderr}")
    out = json.loads(p.stdout)
    with open(kv_path) as f:
        kv = json.load(f)
    return out, np.load(logits_path), kv


def main():
    rows = []
    failures = []
    for shape in shapes():
        model_dir = os.path.join(MODELS, shape)
        m = reference.load_model(model_dir)
        with open(os.path.join(model_dir, "config.json")) as f:
            gated = "memory_size" in json.load(f)
        policies = ["full", "window"] + (["trimkv", "trimkv-global"] if gated else [])
        rng = np.random.default_rng(zlib.crc32(shape.encode()))
        prompt = [int(x) for x in rng.integers(0, m.V, PROMPT_LEN)]
        for policy, setting in itertools.product(policies, SETTINGS):
            budget, buffer, chunk, sinks = setting
            label = f"M={budget} buf={buffer} chunk={chunk}"
            with tempfile.TemporaryDirectory() as tmp:
                out, logits, kv = run_engine(model_dir, prompt, policy, setting, tmp)
            ids = out["token_ids"]
            if policy == "full":
                budget = buffer = None
            ref = reference.run(m, prompt, forced_ids=ids, policy=policy, budget=budget,
                                buffer=buffer, sinks=sinks, prefill_chunk=chunk)
            ref_kv = ref.dump_kv()
            err = float(np.max(np.abs(logits - ref.logits)))
            scale = float(np.max(np.abs(ref.logits)))
            rel = err / max(scale, 1e-6)
            same_kv = kv["lanes"] == ref_kv["lanes"]
            counts_ok = (kv["retained"], kv["offered"]) == (ref_kv["retained"], ref_kv["offered"])
            rows.append((shape, policy, label, err, rel, kv["retained"], kv["offered"], same_kv))
            print(f"{shape:24s} {policy:14s} {label:22s} max_abs={err:.2e} rel={rel:.2e} "
                  f"retained={kv['retained']}/{kv['offered']} kv_sets_equal={same_kv}", flush=True)
            if logits.shape != ref.logits.shape:
                failures.append(f"{shape}/{policy}/{label}: logits shape {logits.shape} vs {ref.logits.shape}")
            elif rel > REL_TOL:
                failures.append(f"{shape}/{policy}/{label}: relative logits error {rel:.3e} > {REL_TOL}")
            if not same_kv or not counts_ok:
                failures.append(f"{shape}/{policy}/{label}: retained KV entries differ from the reference")
    os.makedirs(os.path.join(BUILD, "reports"), exist_ok=True)
    with open(os.path.join(BUILD, "reports", "engine_vs_reference.md"), "w") as f:
        f.write("| shape | policy | setting | max abs err | rel err | retained/offered | KV sets equal |\n")
        f.write("|---|---|---|---|---|---|---|\n")
        for r in rows:
            f.write(f"| {r[0]} | {r[1]} | {r[2]} | {r[3]:.2e} | {r[4]:.2e} | {r[5]}/{r[6]} | {r[7]} |\n")
    if failures:
        print("FAILED:\n  " + "\n  ".join(failures))
        sys.exit(1)
    print(f"engine_reference_test: {len(rows)} (shape, policy, setting) runs agree")


if __name__ == "__main__":
    main()
