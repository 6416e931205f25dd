#!/usr/bin/env python3
"""Trains the byte-level BPE tokenizer of trimserve's embedded default model.

    train_tokenizer.py --corpus build-train/corpus --vocab-size 6144 --out build-train/tokenizer \
        [--model-max-length 2048] [--check build/trimserve]

Learns merges (tools/bpe_tokenizer.py: Qwen3's pre-tokenizer, most frequent pair first, ties to
the smallest pair) on sotu_train.txt plus every training dialogue rendered in ChatML with the
chat template (special tokens are cut out, never learned), until the vocabulary holds
--vocab-size ids: 256 bytes + merges + the added tokens of tools/tiny_tokenizer.py
(<|endoftext|>, <|im_start|>, <|im_end|>, tool and think tags), which take the last ids.
Writes OUT/tokenizer.json and OUT/tokenizer_config.json (ChatML template, Qwen3 layout, exactly
as tiny_tokenizer writes them) and OUT/training.json (inputs, sizes, time). Deterministic.

With --check BIN, `BIN tokenize --model OUT` must encode held-out SOTU text and rendered held-out
dialogues to exactly the Python encoder's ids, decode them back to the text, and render a
held-out dialogue with the template to the same prompt (exit 1 otherwise).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import unicodedata

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bpe_tokenizer as bt  # noqa: E402
import recall_dialogues as rd  # noqa: E402


def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def corpus_texts(corpus_dir):
    """Training texts: SOTU documents, then rendered training dialogues (with answers)."""
    path = os.path.join(corpus_dir, "sotu_train.txt")
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            yield from f.read().rstrip("\n").split("\n\n")
    for d in read_jsonl(os.path.join(corpus_dir, "dialogues_train.jsonl")):
        yield bt.render_chat(rd.dialogue_messages(d))


def train(texts, vocab_size, log=print):
    """A BpeTokenizer with exactly vocab_size ids (fewer only if the text runs out of pairs)."""
    t0 = time.time()
    raw = bt.word_frequencies(texts)
    wf = bt.to_byte_level_freq(raw)
    log(f"word table: {len(wf):,} distinct words, {sum(wf.values()):,} occurrences "
        f"({time.time() - t0:.1f} s)")
    t1 = time.time()
    bpe_size = vocab_size - len(bt.ADDED_TOKENS)
    merges = bt.learn_merges(wf, bpe_vocab_size=bpe_size,
                             progress=lambda n: log(f"  {n} merges ({time.time() - t1:.0f} s)"))
    tok = bt.BpeTokenizer(merges)
    log(f"{len(merges)} merges, vocabulary {tok.size} ids ({time.time() - t1:.1f} s)")
    return tok, {"distinct_words": len(wf), "word_occurrences": sum(wf.values()),
                 "merges": len(merges), "vocab_size": tok.size}


def _run(bin_path, args, lines):
    out = subprocess.run([bin_path, "tokenize", *args], input="".join(json.dumps(x) + "\n" for x in lines),
                         capture_output=True, text=True, check=True).stdout
    return [json.loads(x) for x in out.split("\n")[:-1]]  # not splitlines(): U+2028 is text


def check_against_binary(tok, tok_dir, bin_path, texts, chat_messages=None):
    """Compares the C++ tokenizer with the Python one; returns a list of problems (empty = ok)."""
    problems = []
    py = [tok.encode(t) for t in texts]
    cc = _run(bin_path, ["--model", tok_dir], texts)
    for i, (a, b) in enumerate(zip(py, cc)):
        if a != b:
            k = next((j for j in range(min(len(a), len(b))) if a[j] != b[j]), min(len(a), len(b)))
            problems.append(f"text {i}: ids differ at token {k}: python {a[k:k + 5]} vs C++ {b[k:k + 5]}")
    dec = _run(bin_path, ["--model", tok_dir, "--decode"], py)
    for i, (t, d) in enumerate(zip(texts, dec)):
        if d != unicodedata.normalize("NFC", t) or d != tok.decode(py[i]):
            problems.append(f"text {i}: decode does not give the text back")
    if chat_messages is not None:
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False, encoding="utf-8") as f:
            json.dump({"messages": chat_messages, "add_generation_prompt": True}, f)
        try:
            out = subprocess.run([bin_path, "tokenize", "--model", tok_dir, "--chat", f.name],
                                 capture_output=True, text=True, check=True).stdout
        finally:
            os.unlink(f.name)
        got = json.loads(out)
        want = bt.render_chat(chat_messages, add_generation_prompt=True)
        if got["prompt"] != want:
            problems.append("chat template: C++ prompt differs from jinja2's")
        if got["ids"] != tok.encode(want):
            problems.append("chat template: C++ ids differ from Python's")
    return problems


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpus", required=True, help="make_corpus.py output directory")
    ap.add_argument("--vocab-size", type=int, default=6144, help="total ids, added tokens included")
    ap.add_argument("--out", required=True)
    ap.add_argument("--model-max-length", type=int, default=2048)
    ap.add_argument("--check", metavar="BIN", help="build/trimserve: verify it agrees with Python")
    args = ap.parse_args(argv)
    t0 = time.time()
    tok, info = train(corpus_texts(args.corpus), args.vocab_size)
    tok.write(args.out, args.model_max_length)
    info.update({"corpus": os.path.abspath(args.corpus), "requested_vocab_size": args.vocab_size,
                 "seconds": round(time.time() - t0, 1)})
    with open(os.path.join(args.out, "training.json"), "w", encoding="utf-8") as f:
        json.dump(info, f, indent=1)
        f.write("\n")
    print(f"wrote {args.out}/tokenizer.json, tokenizer_config.json ({time.time() - t0:.1f} s)")

    if args.check:
        held = []
        path = os.path.join(args.corpus, "sotu_heldout.jsonl")
        if os.path.exists(path):
            held = [r["text"] for r in read_jsonl(path)]
        dialogues = read_jsonl(os.path.join(args.corpus, "recall_heldout.jsonl"))
        rendered = [bt.render_chat(rd.dialogue_messages(d)) for d in dialogues[:20]]
        texts = held + rendered
        chat = rd.dialogue_messages(dialogues[0], with_answer=False)
        problems = check_against_binary(tok, args.out, args.check, texts, chat)
        for name, group in (("SOTU held-out", held), ("held-out dialogues (rendered)", rendered)):
            if group:
                n = sum(len(tok.encode(t)) for t in group)
                c = sum(len(t) for t in group)
                print(f"{name}: {len(group)} texts, {c:,} chars, {n:,} tokens, {n / c:.4f} tokens/char")
        if problems:
            for p in problems:
                print("MISMATCH", p)
            return 1
        print(f"check: {args.check} tokenize agrees id for id on {len(texts)} texts, decodes them back, "
              "and renders the chat template identically")
    return 0


if __name__ == "__main__":
    sys.exit(main())
