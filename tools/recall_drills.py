#!/usr/bin/env python3
"""Recall drills: short dialogues dense with facts and the questions that ask for them, for a
training phase that teaches the base model to copy a value from earlier in the conversation.

    recall_drills.py --tokenizer deploy/models/trimchat-6m --out build-train/drills \
        [--dialogues 30000] [--seed 1] [--split train|heldout]

Why: in the long dialogues of tools/recall_dialogues.py one answer of a few tokens follows
~1000 tokens of chatter, so next-token training on them sees about one recall target per 1000
tokens — too sparse for a 6 M-parameter model to learn retrieval in the tokens 2 CPU cores can
train on (trimchat-6m's first 2 M tokens taught it none: its answer likelihood was the same with
and without the fact in the dialogue). A drill states 2-5 facts (same-category confusers
included), then asks for every one of them, in random order, among short chatter, with distances of
0 to ~600 tokens: about one question per 150 tokens. Facts, values (--split train, the
default, never uses a held-out dialogue's answer value), phrasings and chatter come from the same
generators as the long dialogues.

Writes OUT/drills-SPLIT.npz: `tokens` (uint16, every dialogue followed by <|endoftext|>) and
`weights` (uint8, 1 on the answer tokens and their <|im_end|>: the targets a trainer may weight up), and
OUT/drills-SPLIT.json (counts). Token ids come from the Python twin of trimserve's tokenizer
(tools/bpe_tokenizer.py); each dialogue is encoded piece by piece to know where the answers are,
and checked against the encoding of its whole text.
"""
import argparse
import json
import os
import random
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bpe_tokenizer  # noqa: E402
import recall_chatter as C  # noqa: E402
import recall_facts as F  # noqa: E402


def make_drill(index, seed, split="train"):
    """Drill `index` of (seed, split): [(role, content, is_answer)] messages, the last one an
    answer. Values come from `split` (tools/recall_facts.py: train and heldout never share one)."""
    rng = random.Random(f"drill:{seed}:{split}:{index}")
    ctx = {"passages": C.builtin_passages()}
    n_facts = rng.choice([2, 3, 3, 4, 4, 5])
    facts, keys, values = [], set(), []
    while len(facts) < n_facts:
        if facts and rng.random() < 0.4:  # a confuser: same category, another key
            cat = rng.choice(facts).category
        else:
            cat = rng.choice(F.FACT_CATEGORIES)
        spec = rng.choice([s for s in F.FACT_SPECS if s[1] == cat])
        if spec[0] in keys:
            continue
        keys.add(spec[0])
        f = F.make_fact(rng, spec, split, values)
        facts.append(f)
        values.append(f.value)
    msgs = []

    def chatter(n):
        for _ in range(n):
            u, a = C.distractor(rng, ctx, rng.choice([80, 150, 250, 400]), values)
            msgs.extend([("user", u, False), ("assistant", a, False)])

    i = 0
    while i < n_facts:  # the facts, sometimes two in one turn, sometimes chatter between
        group = facts[i:i + (2 if n_facts - i > 1 and rng.random() < 0.3 else 1)]
        i += len(group)
        clauses = [f.clause for f in group]
        ack = "Got it: " + " and ".join(clauses) + "." if rng.random() < 0.6 else "Noted."
        msgs.extend([("user", " ".join(f.statement for f in group), False),
                     ("assistant", ack, False)])
        chatter(rng.choice([0, 0, 1]))
    order = list(range(n_facts))
    rng.shuffle(order)
    for k in order:  # every fact asked once, after 0-3 exchanges of chatter
        chatter(rng.choice([0, 1, 1, 2, 3]))
        msgs.extend([("user", facts[k].question, False), ("assistant", facts[k].value, True)])
    return msgs


def encode_drill(tok, msgs):
    """(ids, weights) of one drill rendered with the chat template: the last answer follows
    the generation prompt (as served); earlier ones are history messages."""
    ids, weights, text = [], [], ""
    for role, content, is_answer in msgs:
        for piece, w in ((f"<|im_start|>{role}\n", 0), (content, int(is_answer)),
                         ("<|im_end|>", int(is_answer)), ("\n", 0)):
            p = tok.encode(piece)
            ids += p
            weights += [w] * len(p)
            text += piece
    chat = [{"role": r, "content": c} for r, c, _ in msgs]
    expected = (bpe_tokenizer.render_chat(chat[:-1], add_generation_prompt=True)
                + chat[-1]["content"] + "<|im_end|>\n")
    if text != expected:
        raise AssertionError("drill text differs from the chat template's rendering")
    if tok.encode(text) != ids:
        return None  # a piece boundary changed the tokens: skip this drill
    return ids, weights


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tokenizer", required=True, help="directory with tokenizer.json")
    ap.add_argument("--out", required=True)
    ap.add_argument("--dialogues", type=int, default=30000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--split", default="train", choices=["train", "heldout"])
    a = ap.parse_args(argv)
    tok = bpe_tokenizer.BpeTokenizer.load(os.path.join(a.tokenizer, "tokenizer.json"))
    eot = tok.encode("<|endoftext|>")
    tokens, weights, skipped = [], [], 0
    for i in range(a.dialogues):
        enc = encode_drill(tok, make_drill(i, a.seed, a.split))
        if enc is None:
            skipped += 1
            continue
        tokens += enc[0] + eot
        weights += enc[1] + [0] * len(eot)
    os.makedirs(a.out, exist_ok=True)
    np.savez(os.path.join(a.out, f"drills-{a.split}.npz"), tokens=np.array(tokens, dtype=np.uint16),
             weights=np.array(weights, dtype=np.uint8))
    stats = {"dialogues": a.dialogues - skipped, "skipped": skipped, "tokens": len(tokens),
             "answer_tokens": int(sum(weights)), "seed": a.seed, "split": a.split}
    with open(os.path.join(a.out, f"drills-{a.split}.json"), "w") as f:
        json.dump(stats, f, indent=2)
        f.write("\n")
    print(json.dumps(stats))
    return 0


if __name__ == "__main__":
    sys.exit(main())
