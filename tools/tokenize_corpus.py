#!/usr/bin/env python3
"""Turns the corpus of tools/make_corpus.py into the token streams the trainers read.

    tokenize_corpus.py --corpus build-train/corpus --tokenizer build-train/tokenizer \
        --out build-train/tokens [--bin build/trimserve]

Writes OUT/train.npy (SOTU training addresses + training dialogues, shuffled by document with a
fixed seed) and OUT/heldout.npy (the held-out addresses and dialogues), uint16 token ids, every
document followed by <|endoftext|>, plus OUT/tokens.json (counts).

Dialogues are rendered the way the daemon will see them at inference: the turns and the final
question through the chat template with the generation prompt, then the answer and <|im_end|>
(rendering the answer as a finished assistant message would put the template's empty
<think></think> block in front of it, which a served chat request never has). The token ids come
from trimserve's own tokenizer (`trimserve tokenize`, one process for the whole corpus), so the
model is trained on exactly the ids the engine will feed it.
"""
import argparse
import json
import os
import random
import subprocess
import sys
import threading

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bpe_tokenizer  # noqa: E402


def dialogue_text(d):
    messages = []
    for t in d["turns"]:
        messages += [{"role": "user", "content": t["user"]},
                     {"role": "assistant", "content": t["assistant"]}]
    messages.append({"role": "user", "content": d["question"]})
    return bpe_tokenizer.render_chat(messages, add_generation_prompt=True) + d["answer"] + "<|im_end|>\n"


def sotu_documents(path):
    """The addresses of sotu_train.txt, separated by one blank line (make_corpus.py's format:
    no address contains a blank line)."""
    with open(path, encoding="utf-8") as f:
        return [d.strip() for d in f.read().split("\n\n") if d.strip()]


def encode_all(binary, tokenizer_dir, texts):
    """ids of every text, via one `trimserve tokenize` process (a writer thread feeds stdin)."""
    p = subprocess.Popen([binary, "tokenize", "--model", tokenizer_dir], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, text=True, encoding="utf-8")

    def feed():
        for t in texts:
            p.stdin.write(json.dumps(t) + "\n")
        p.stdin.close()

    writer = threading.Thread(target=feed)
    writer.start()
    out = [json.loads(line) for line in p.stdout]
    writer.join()
    if p.wait() != 0 or len(out) != len(texts):
        sys.exit(f"tokenize_corpus.py: trimserve tokenize failed ({len(out)} of {len(texts)} texts)")
    return out


def write_stream(path, docs, eot):
    stream = []
    for ids in docs:
        stream += ids
        stream.append(eot)
    arr = np.array(stream, dtype=np.uint16)
    np.save(path, arr)
    return len(arr)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--tokenizer", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--bin", default="build/trimserve")
    ap.add_argument("--seed", type=int, default=7)
    a = ap.parse_args(argv)
    tok = bpe_tokenizer.BpeTokenizer.load(a.tokenizer)
    if tok.size > 65535:
        sys.exit("tokenize_corpus.py: vocabulary too large for uint16 streams")
    eot = tok.ids["<|endoftext|>"]

    def read_jsonl(name):
        with open(os.path.join(a.corpus, name), encoding="utf-8") as f:
            return [json.loads(line) for line in f if line.strip()]

    train_texts = sotu_documents(os.path.join(a.corpus, "sotu_train.txt"))
    n_sotu = len(train_texts)
    train_texts += [dialogue_text(d) for d in read_jsonl("dialogues_train.jsonl")]
    heldout_texts = [d["text"] for d in read_jsonl("sotu_heldout.jsonl")]
    heldout_texts += [dialogue_text(d) for d in read_jsonl("recall_heldout.jsonl")]
    order = list(range(len(train_texts)))
    random.Random(a.seed).shuffle(order)
    os.makedirs(a.out, exist_ok=True)
    train_ids = encode_all(a.bin, a.tokenizer, [train_texts[i] for i in order])
    heldout_ids = encode_all(a.bin, a.tokenizer, heldout_texts)
    counts = {"train_documents": len(train_texts), "sotu_train_documents": n_sotu,
              "train_tokens": write_stream(os.path.join(a.out, "train.npy"), train_ids, eot),
              "heldout_documents": len(heldout_texts),
              "heldout_tokens": write_stream(os.path.join(a.out, "heldout.npy"), heldout_ids, eot),
              "vocab_size": tok.size}
    with open(os.path.join(a.out, "tokens.json"), "w") as f:
        json.dump(counts, f, indent=1)
    print(json.dumps(counts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
