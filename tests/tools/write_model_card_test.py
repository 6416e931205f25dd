"""tools/write_model_card.py on a small but real training output: the loss logs of a short
train_base.py / train_gates.py-shaped run, a real model directory (the tiny gated model) and
real `trimserve eval` results for both gate variants. The card must carry the numbers of those
files (steps, tokens, losses, gate statistics, every evaluated policy and budget), copy the
logs into training/ and draw loss.svg; a work dir without a base log is refused.

Env: TRIMSERVE_SRC, TRIMSERVE_BIN, TRIMSERVE_TINY_MODELS.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

SRC = os.environ.get("TRIMSERVE_SRC", os.getcwd())
BIN = os.environ.get("TRIMSERVE_BIN", os.path.join(SRC, "build", "trimserve"))
MODELS = os.environ.get("TRIMSERVE_TINY_MODELS", os.path.join(SRC, "build", "tiny-models"))
sys.path.insert(0, os.path.join(SRC, "tests", "support"))
from checks import check, problems  # noqa: E402

RECALL = os.path.join(SRC, "tests", "server", "fixtures", "eval_recall_tiny.jsonl")
PPL = os.path.join(SRC, "tests", "server", "fixtures", "eval_ppl_tiny.jsonl")


def write_json(path, obj):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(obj, f)


def write_jsonl(path, rows):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.writelines(json.dumps(r) + "\n" for r in rows)


def card(work, model):
    return subprocess.run([sys.executable, os.path.join(SRC, "tools", "write_model_card.py"),
                           "--work", work, "--model", model],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


with tempfile.TemporaryDirectory() as tmp:
    work, model = os.path.join(tmp, "work"), os.path.join(tmp, "model")
    shutil.copytree(os.path.join(MODELS, "gqa2-untied-rg"), model)
    write_json(os.path.join(work, "corpus", "manifest.json"), {
        "seed": 7, "sotu": {"train_ids": ["a", "b", "c"], "heldout_ids": ["d"]},
        "dialogues_train.jsonl": {"dialogues": 40}, "recall_heldout.jsonl": {"dialogues": 4}})
    write_json(os.path.join(work, "tokens", "tokens.json"), {
        "train_tokens": 123456, "train_documents": 43, "heldout_tokens": 999, "heldout_documents": 5})
    write_json(os.path.join(work, "tokenizer", "training.json"), {"merges": 321, "vocab_size": 600})
    base = [{"step": s, "loss": 8.0 - s / 10, "tokens": s * 4096, "lr": 1e-3,
             "seq_len": 32 if s <= 40 else 64, "seconds": s * 5.0} for s in range(1, 61)]
    base[49]["heldout_loss"] = 3.25
    base[59]["heldout_loss"] = 3.125
    write_jsonl(os.path.join(work, "base", "loss.jsonl"), base)
    for variant, kl in (("shared", 0.5), ("per-layer", 0.25)):
        log = [{"step": s, "loss": 1.0, "kl": kl, "ntp": 2.5, "capacity": 0.1, "mass_mean": 90.0,
                "mass_max": 120.0, "seconds": s} for s in range(1, 31)]
        log[-1]["heldout"] = {"kl": kl / 2, "ntp": 2.0, "capacity": 0.0, "mass_mean": 77.5}
        write_jsonl(os.path.join(work, f"gates-{variant}", "loss.jsonl"), log)
        # as tools/retrain.sh: full and window once, on the shipped (shared) gates
        policies = [] if variant == "shared" else ["--policies", "trimkv,trimkv-global"]
        for task, data in (("recall", RECALL), ("perplexity", PPL)):
            p = subprocess.run([BIN, "eval", "--model", model, "--task", task, "--data", data,
                                "--budgets", "8,16", *policies, "--out",
                                os.path.join(model, "eval", f"{task}-{variant}")],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            check(p.returncode == 0, f"eval {task}: {p.stderr}")

    p = card(work, model)
    check(p.returncode == 0, f"write_model_card failed: {p.stderr}")
    with open(os.path.join(model, "MODEL_CARD.md")) as f:
        text = f.read()
    for want in ("60 steps", "0.25 M tokens", "123,456 training tokens", "321 merges",
                 "| shared | 30 | 0.5000 |", "| per-layer | 30 | 0.2500 |", "77.5",
                 "3.125 at step 60", "| M=8 | M=16 |", "held out (every tenth",
                 "4,096 tokens per step in\nwindows of 32 tokens to step 40; then windows of 64 "
                 "tokens to step 60"):
        check(want in text, f"the card lacks {want!r}")
    with open(os.path.join(model, "eval", "recall-shared", "results.json")) as f:
        recall = json.load(f)
    full = next(r for r in recall["results"] if r["policy"] == "full")
    check(f"| full | - | {full['quality']:.3f} | {full['quality']:.3f} |" in text,
          "the recall table's full row is not the evaluated accuracy")
    for variant in ("shared", "per-layer"):
        check(f"| trimkv-global | {variant} |" in text, f"no trimkv-global row for {variant} gates")
    for policy in ("full", "window"):
        check(text.count(f"| {policy} | - |") == 2, f"{policy} is not one row in each table")
    check(text.count("| window | - |") == 2, "window must have one row per task, not per variant")
    for f in ("base_loss.jsonl", "gates_shared_loss.jsonl", "gates_per-layer_loss.jsonl"):
        check(os.path.isfile(os.path.join(model, "training", f)), f"training/{f} not copied")
    svg = ET.parse(os.path.join(model, "training", "loss.svg")).getroot()
    lines = [e for e in svg.iter() if e.tag.endswith("polyline")]
    check(len(lines) == 2, f"loss.svg has {len(lines)} curves, want train and held-out")

    os.remove(os.path.join(work, "base", "loss.jsonl"))
    p = card(work, model)
    check(p.returncode != 0 and "no base training log" in p.stderr,
          f"a missing base log must be refused: {p.returncode} {p.stderr}")

if problems:
    sys.exit(1)
print("write_model_card_test: ok")
