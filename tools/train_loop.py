"""The training loop tools/train_base.py and tools/train_gates.py share: optimiser steps with
gradient clipping, one JSON record per step appended to OUT/loss.jsonl, held-out evaluation
every --eval-every steps, an atomic checkpoint (OUT/ckpt.pt: model, optimiser, step, RNG state)
every --ckpt-every steps, and a stop at --steps, at --stop-at (a phase of a longer schedule: the
learning rate still follows --steps) or after --hours of wall time — so a killed run resumes from
its last checkpoint with --resume."""
import json
import os
import sys
import time

import torch

import qwen3_model as qm


def run(name, model, opt, params, gen, step, args, step_fn, heldout_fn=None):
    """step_fn(step) -> (loss, record fields) for the batch of step `step` (0-based; it may set
    the learning rate); heldout_fn() -> record fields of a held-out evaluation. Returns the
    step reached."""
    ckpt_path = os.path.join(args.out, "ckpt.pt")
    started = time.time()
    with open(os.path.join(args.out, "loss.jsonl"), "a") as log:
        last = min(args.steps, args.stop_at) if getattr(args, "stop_at", 0) else args.steps
        while step < last:
            loss, fields = step_fn(step)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            step += 1
            elapsed = time.time() - started
            out_of_time = args.hours > 0 and elapsed > args.hours * 3600
            record = {"step": step, "loss": round(loss.item(), 4), **fields,
                      "seconds": round(elapsed, 1)}
            evaluated = heldout_fn is not None and (
                step % args.eval_every == 0 or step == last or out_of_time)
            if evaluated:
                record.update(heldout_fn())
            log.write(json.dumps(record) + "\n")
            log.flush()
            if step % 10 == 0 or evaluated:
                print(json.dumps(record), file=sys.stderr)
            if step % args.ckpt_every == 0 or step == last or out_of_time:
                qm.save_checkpoint(ckpt_path, model, opt, step,
                                   {"rng": gen.get_state(), "args": vars(args)})
            if out_of_time:
                break
    print(f"{name}: stopped at step {step}; checkpoint {ckpt_path}", file=sys.stderr)
    return step
