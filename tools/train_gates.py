#!/usr/bin/env python3
"""Trains TrimKV retention gates on a frozen base model (tools/train_base.py), CPU only.

    train_gates.py --base build-train/base/ckpt.pt --tokens build-train/tokens/train.npy \
        --heldout build-train/tokens/heldout.npy --out build-train/gates \
        [--shared] [--memory-size 128] [--hours 1] [--steps N] [--resume]

The objective (TrimKV, arXiv 2605.09649): the model whose attention is retention-decayed — query
i weighs key j by β_j^(i-j), β from the gates (tools/qwen3_model.py) — must behave like the frozen
full-cache model while holding little:
    loss = kl_weight  · KL(p_full ‖ p_decayed)           (distillation, per token)
         + ntp_weight · CE(p_decayed, next token)         (next-token loss)
         + capacity_weight · mean(relu(mass - M) / M)      (capacity)
where mass = Σ_j β_j^(i-j) is the soft number of entries a lane holds at query i (per layer, kv
head and position) and M = --memory-size, the budget the gates are trained for; it becomes the
model's memory_size (config.json), the default kv_budget. Only the gate parameters learn; the
base weights stay exactly as trained. --shared trains the DBTrimKV variant: one final scoring
projection shared by all layers, so the scores of every layer and head are on one scale for
trimkv-global eviction.

Logging, checkpoints and --resume as in train_base.py (OUT/loss.jsonl, OUT/ckpt.pt holds the whole
model, base and gates).
"""
import argparse
import os
import sys
from dataclasses import asdict

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qwen3_model as qm  # noqa: E402
import train_loop  # noqa: E402


def gate_losses(model, batch, memory_size, args):
    """(total, parts dict) for one batch [B, T + 1]."""
    inputs, targets = batch[:, :-1], batch[:, 1:]
    with torch.no_grad():
        full, _ = model(inputs)
        log_p_full = F.log_softmax(full, dim=-1)
    decayed, masses = model(inputs, decayed=True)
    log_p_dec = F.log_softmax(decayed, dim=-1)
    kl = (log_p_full.exp() * (log_p_full - log_p_dec)).sum(-1).mean()
    ntp = F.cross_entropy(decayed.flatten(0, 1), targets.flatten())
    mass = torch.stack(masses)  # [L, B, Hkv, T]
    capacity = (F.relu(mass - memory_size) / memory_size).mean()
    total = args.kl_weight * kl + args.ntp_weight * ntp + args.capacity_weight * capacity
    return total, {"kl": kl.item(), "ntp": ntp.item(), "capacity": capacity.item(),
                   "mass_mean": mass.mean().item(), "mass_max": mass.amax(-1).mean().item()}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--base", required=True, help="train_base.py checkpoint")
    ap.add_argument("--tokens", required=True)
    ap.add_argument("--heldout", default=None)
    ap.add_argument("--out", required=True)
    ap.add_argument("--shared", action="store_true", help="DBTrimKV shared final projection")
    ap.add_argument("--memory-size", type=int, default=128)
    ap.add_argument("--buffer-size", type=int, default=32)
    ap.add_argument("--gate-intermediate", type=int, default=64)
    ap.add_argument("--gate-bias-init", type=float, default=8.0)
    ap.add_argument("--kl-weight", type=float, default=1.0)
    ap.add_argument("--ntp-weight", type=float, default=1.0)
    ap.add_argument("--capacity-weight", type=float, default=1.0)
    ap.add_argument("--seq-len", type=int, default=1024)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--stop-at", type=int, default=0,
                    help="stop at this step (a phase; the schedule still spans --steps)")
    ap.add_argument("--hours", type=float, default=0.0)
    ap.add_argument("--eval-every", type=int, default=50)
    ap.add_argument("--ckpt-every", type=int, default=25)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=2)
    ap.add_argument("--resume", action="store_true")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    os.makedirs(args.out, exist_ok=True)
    ckpt_path = os.path.join(args.out, "ckpt.pt")
    tokens = qm.load_tokens(args.tokens)

    if args.resume and os.path.exists(ckpt_path):
        model, ck = qm.load_checkpoint(ckpt_path)
        step, gen = ck["step"], torch.Generator()
        gen.set_state(ck["extra"]["rng"])
    else:
        base, _ = qm.load_checkpoint(args.base)
        shape = qm.Shape(**{**asdict(base.shape), "retention_gate": "rg",
                            "gate_shared_projection": args.shared,
                            "gate_intermediate_size": args.gate_intermediate,
                            "memory_size": args.memory_size, "buffer_size": args.buffer_size})
        model = qm.Qwen3(shape, gate_bias_init=args.gate_bias_init, seed=args.seed)
        base_state = {k: v for k, v in base.state_dict().items() if "retention_gate" not in k}
        missing, unexpected = model.load_state_dict(base_state, strict=False)
        assert not unexpected and all("retention_gate" in k for k in missing), (missing, unexpected)
        ck, step = None, 0
        gen = torch.Generator().manual_seed(args.seed)
    for p in model.base_parameters():
        p.requires_grad_(False)
    gates = model.gate_parameters()
    opt = torch.optim.AdamW(gates, lr=args.lr, weight_decay=0.0)
    if ck is not None and ck["optimizer"] is not None:
        opt.load_state_dict(ck["optimizer"])
    heldout = None
    if args.heldout:
        heldout = qm.token_windows(qm.load_tokens(args.heldout), args.seq_len, 8,
                                   torch.Generator().manual_seed(1234))
    print(f"train_gates: {sum(p.numel() for p in gates)} gate parameters "
          f"({'shared' if model.shape.gate_shared_projection else 'per-layer'} final projection), "
          f"M = {model.shape.memory_size}, from step {step}", file=sys.stderr)

    def train_step(step):
        batch = qm.token_windows(tokens, args.seq_len, args.batch, gen)
        loss, parts = gate_losses(model, batch, model.shape.memory_size, args)
        return loss, {k: round(v, 4) for k, v in parts.items()}

    def evaluate():
        with torch.no_grad():
            _, ho = gate_losses(model, heldout, model.shape.memory_size, args)
        return {"heldout": {k: round(v, 4) for k, v in ho.items()}}

    train_loop.run("train_gates", model, opt, gates, gen, step, args, train_step,
                   evaluate if heldout is not None else None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
