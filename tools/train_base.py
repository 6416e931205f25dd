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
"""
import argparse
import math
import os
import sys

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
    args = ap.parse_args(argv)
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
        batch = qm.token_windows(tokens, args.seq_len, args.batch, gen)
        logits, _ = model(batch[:, :-1])
        loss = F.cross_entropy(logits.flatten(0, 1), batch[:, 1:].flatten())
        # tokens assumes every phase has the same tokens per step (retrain.sh keeps it so);
        # seq_len tells the phases apart in the log
        return loss, {"tokens": (step + 1) * args.batch * args.seq_len, "lr": lr,
                      "seq_len": args.seq_len}

    def evaluate():
        return {"heldout_loss": round(heldout_loss(model, heldout), 4)}

    train_loop.run("train_base", model, opt, params, gen, step, args, train_step,
                   evaluate if heldout is not None else None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
