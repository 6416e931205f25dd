#!/usr/bin/env python3
"""Trains the base model of trimserve's embedded default model: next-token prediction on a
token stream (tools/tokenize_corpus.py), CPU only.

    train_base.py --tokens build-train/tokens/train.npy --heldout build-train/tokens/heldout.npy \
        --vocab-size 6144 --out build-train/base [--hours 3] [--steps N] [--resume]

Random windows of --seq-len + 1 tokens (inputs and shifted targets); AdamW with linear warm-up
and cosine decay to 10% of --lr over --steps; gradients clipped at 1. Every --eval-every steps
the mean loss over fixed held-out windows is logged. Everything is appended to OUT/loss.jsonl
(one JSON object per logged step: step, tokens seen, train loss, held-out loss, lr, seconds), and
OUT/ckpt.pt (model, optimizer, step, RNG) is replaced atomically every --ckpt-every steps and at
the end, so a killed run resumes with --resume where it stopped. The run stops at --steps or
after --hours of wall time, whichever comes first.

Continued training (the recall phase of tools/retrain.sh): --init-from DIR starts from a shipped
model directory instead of random weights (a fresh optimiser and schedule); --drills FILE.npz
(tools/recall_drills.py) puts --drill-rows windows of recall drills into every batch, their
answer tokens weighted --answer-weight times in the loss; --heldout-drills FILE.npz adds the
held-out drills' answer loss and answer-token accuracy (teacher-forced argmax) to every
evaluation — the measure of whether the model copies values from earlier in a conversation.
"""
import argparse
import json
import math
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qwen3_model as qm  # noqa: E402
import train_loop  # noqa: E402


def lr_at(step, args):
    if step < args.warmup:
        return args.lr * (step + 1) / args.warmup
    progress = min(1.0, (step - args.warmup) / max(1, args.steps - args.warmup))
    return args.lr * (0.1 + 0.9 * 0.5 * (1.0 + math.cos(math.pi * progress)))


def heldout_loss(model, windows):
    model.eval()
    with torch.no_grad():
        losses = []
        for w in windows.split(4):
            logits, _ = model(w[:, :-1])
            losses.append(F.cross_entropy(logits.flatten(0, 1), w[:, 1:].flatten()).item())
    model.train()
    return sum(losses) / len(losses)


def load_drills(path):
    """(tokens, weights) int64 / float32 tensors of a tools/recall_drills.py file."""
    d = np.load(path)
    return (torch.from_numpy(d["tokens"].astype(np.int64)),
            torch.from_numpy(d["weights"].astype(np.float32)))


def drill_windows(drills, seq_len, batch, generator):
    """Random windows [batch, seq_len + 1] of the drill stream and their answer weights."""
    tokens, weights = drills
    starts = torch.randint(0, len(tokens) - seq_len - 1, (batch,), generator=generator).tolist()
    return (torch.stack([tokens[s:s + seq_len + 1] for s in starts]),
            torch.stack([weights[s:s + seq_len + 1] for s in starts]))


def drill_answer_metrics(model, windows, weights):
    """Mean loss and argmax accuracy over the answer tokens of held-out drill windows."""
    model.eval()
    nll, hits, n = 0.0, 0.0, 0.0
    with torch.no_grad():
        for w, m in zip(windows.split(4), weights.split(4)):
            logits, _ = model(w[:, :-1])
            mask = m[:, 1:]
            ce = F.cross_entropy(logits.flatten(0, 1), w[:, 1:].flatten(), reduction="none")
            nll += float((ce * mask.flatten()).sum())
            hits += float(((logits.argmax(-1) == w[:, 1:]).float() * mask).sum())
            n += float(mask.sum())
    model.train()
    return {"drill_answer_loss": round(nll / max(n, 1), 4),
            "drill_answer_accuracy": round(hits / max(n, 1), 4)}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tokens", required=True)
    ap.add_argument("--heldout", default=None)
    ap.add_argument("--out", required=True)
    ap.add_argument("--vocab-size", type=int, required=True)
    ap.add_argument("--layers", type=int, default=6)
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--kv-heads", type=int, default=2)
    ap.add_argument("--head-dim", type=int, default=64)
    ap.add_argument("--intermediate", type=int, default=768)
    ap.add_argument("--max-positions", type=int, default=2048)
    ap.add_argument("--seq-len", type=int, default=512)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--weight-decay", type=float, default=0.1)
    ap.add_argument("--warmup", type=int, default=100)
    ap.add_argument("--steps", type=int, default=4000)
    ap.add_argument("--stop-at", type=int, default=0,
                    help="stop at this step (a phase; the schedule still spans --steps)")
    ap.add_argument("--hours", type=float, default=0.0, help="wall-time limit; 0 = none")
    ap.add_argument("--eval-every", type=int, default=100)
    ap.add_argument("--eval-windows", type=int, default=32)
    ap.add_argument("--ckpt-every", type=int, default=50)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--init-from", default=None,
                    help="start from this model directory (config.json + model.safetensors)")
    ap.add_argument("--drills", default=None, help="recall drills (tools/recall_drills.py)")
    ap.add_argument("--drill-rows", type=int, default=0, help="drill windows per batch")
    ap.add_argument("--answer-weight", type=float, default=1.0,
                    help="loss weight of the drills' answer tokens (others weigh 1)")
    ap.add_argument("--heldout-drills", default=None)
    args = ap.parse_args(argv)
    if args.drill_rows and not args.drills:
        ap.error("--drill-rows needs --drills")
    if args.drill_rows > args.batch:
        ap.error("--drill-rows must not exceed --batch")
    torch.set_num_threads(args.threads)
    os.makedirs(args.out, exist_ok=True)
    ckpt_path = os.path.join(args.out, "ckpt.pt")  # train_loop.run writes it
    tokens = qm.load_tokens(args.tokens)
    if int(tokens.max()) >= args.vocab_size:
        sys.exit(f"train_base.py: token id {int(tokens.max())} >= --vocab-size {args.vocab_size}")

    if args.resume and os.path.exists(ckpt_path):
        model, ck = qm.load_checkpoint(ckpt_path)
        step = ck["step"]
        gen = torch.Generator()
        gen.set_state(ck["extra"]["rng"])
    elif args.init_from:
        model, ck, step = qm.load_hf_dir(args.init_from), None, 0
        gen = torch.Generator().manual_seed(args.seed)
    else:
        shape = qm.Shape(vocab_size=args.vocab_size, hidden_size=args.hidden,
                         num_layers=args.layers, num_heads=args.heads, num_kv_heads=args.kv_heads,
                         head_dim=args.head_dim, intermediate_size=args.intermediate,
                         max_position_embeddings=args.max_positions)
        model, ck, step = qm.Qwen3(shape, seed=args.seed), None, 0
        gen = torch.Generator().manual_seed(args.seed)
    params = model.base_parameters()
    for p in model.gate_parameters():
        p.requires_grad_(False)  # the gates are trained later, on the frozen base
    decay = [p for p in params if p.dim() >= 2]
    no_decay = [p for p in params if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": args.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=args.lr, betas=(0.9, 0.95))
    if ck is not None and ck["optimizer"] is not None:
        opt.load_state_dict(ck["optimizer"])

    drills = load_drills(args.drills) if args.drills else None
    heldout_drills = None
    if args.heldout_drills:
        heldout_drills = drill_windows(load_drills(args.heldout_drills), args.seq_len,
                                       args.eval_windows, torch.Generator().manual_seed(4321))
    heldout = None
    if args.heldout:
        ho = qm.load_tokens(args.heldout)
        heldout = qm.token_windows(ho, args.seq_len, args.eval_windows,
                                   torch.Generator().manual_seed(1234))
    print(f"train_base: {qm.count_parameters(model) / 1e6:.2f} M parameters, "
          f"{len(tokens) / 1e6:.1f} M training tokens, from step {step}", file=sys.stderr)
    model.train()

    def train_step(step):
        lr = lr_at(step, args)
        for g in opt.param_groups:
            g["lr"] = lr
        batch = qm.token_windows(tokens, args.seq_len, args.batch - args.drill_rows, gen)
        weights = torch.ones_like(batch, dtype=torch.float32)
        if args.drill_rows:
            d_batch, d_answers = drill_windows(drills, args.seq_len, args.drill_rows, gen)
            batch = torch.cat([batch, d_batch])
            weights = torch.cat([weights, 1.0 + (args.answer_weight - 1.0) * d_answers])
        logits, _ = model(batch[:, :-1])
        ce = F.cross_entropy(logits.flatten(0, 1), batch[:, 1:].flatten(), reduction="none")
        w = weights[:, 1:].flatten()
        loss = (ce * w).sum() / w.sum()
        # tokens assumes every phase has the same tokens per step (retrain.sh keeps it so);
        # seq_len tells the phases apart in the log
        return loss, {"tokens": (step + 1) * args.batch * args.seq_len, "lr": lr,
                      "seq_len": args.seq_len}

    def evaluate():
        out = {"heldout_loss": round(heldout_loss(model, heldout), 4)} if heldout is not None else {}
        if heldout_drills is not None:
            out.update(drill_answer_metrics(model, *heldout_drills))
        return out

    if args.init_from and step == 0:  # where the continued training starts from
        print(json.dumps({"step": 0, **evaluate()}), file=sys.stderr)
    train_loop.run("train_base", model, opt, params, gen, step, args, train_step,
                   evaluate if heldout is not None or heldout_drills is not None else None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
