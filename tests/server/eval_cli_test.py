"""`trimserve eval` end to end on the tiny random model with retention gates (gqa2-untied-rg):

- recall and perplexity over all four policies and two budgets: results.json structure,
  results.md (a row per configuration), results.svg (parses as XML, one polyline per policy);
- recall: accuracy = correct / total, consistent with the per-example outcomes and the
  answer-matching rule; per-turn KV counts consistent; answers taken from `trimserve generate`
  on the same conversation are found correct under `full` (same rendering, same decoding);
- perplexity: every policy's perplexity equals tools/reference.py's (PyTorch, written from the
  math) computed over the same windows and chunks; with a budget above the text length every
  policy equals full; a smaller budget retains fewer entries;
- the progress bar draws only on a terminal;
- every bad input exits 2 with a one-line message naming the problem (and the line).

Env: TRIMSERVE_BIN, TRIMSERVE_TINY_MODELS (tiny models by tools/make_tiny_model.py).
"""
import json
import math
import os
import pty
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

SRC = os.environ.get("TRIMSERVE_SRC", os.getcwd())
BIN = os.environ.get("TRIMSERVE_BIN", os.path.join(SRC, "build", "trimserve"))
MODELS = os.environ.get("TRIMSERVE_TINY_MODELS", os.path.join(SRC, "build", "tiny-models"))
MODEL = os.path.join(MODELS, "gqa2-untied-rg")
NOGATE = os.path.join(MODELS, "gqa2-nogate")
FIXTURES = os.path.join(SRC, "tests", "server", "fixtures")
RECALL = os.path.join(FIXTURES, "eval_recall_tiny.jsonl")
PPL = os.path.join(FIXTURES, "eval_ppl_tiny.jsonl")
POLICIES = ["full", "window", "trimkv", "trimkv-global"]
CHUNK = 32

sys.path.insert(0, os.path.join(SRC, "tools"))


def trimserve(args, stdin=None, check=True, stderr=subprocess.PIPE):
    p = subprocess.run([BIN] + args, input=stdin, stdout=subprocess.PIPE, stderr=stderr,
                       text=True)
    if check and p.returncode != 0:
        raise AssertionError(f"trimserve {' '.join(args)} failed ({p.returncode}): {p.stderr}")
    return p


def read_jsonl(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def write_jsonl(path, rows):
    with open(path, "w") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")


def normalize(text):
    return text.strip().rstrip(" \t\r\n\f\v.!?").lower()


def close(a, b, rel):
    return abs(a - b) <= rel * max(abs(a), abs(b))


def check_report(out, task, budgets, examples):
    with open(os.path.join(out, "results.json")) as f:
        doc = json.load(f)
    for key in ("task", "model", "data", "date", "prefill_chunk", "examples", "lanes", "budgets",
                "metric", "results"):
        assert key in doc, f"results.json lacks {key}"
    assert doc["task"] == task and doc["prefill_chunk"] == CHUNK and doc["examples"] == examples
    assert doc["model"] == MODEL and doc["budgets"] == budgets
    configs = [(r["policy"], r["budget"]) for r in doc["results"]]
    expected = [("full", None)] + [(p, b) for p in POLICIES[1:] for b in budgets]
    assert configs == expected, configs
    for r in doc["results"]:
        assert r["examples"] == examples and r["wall_s"] >= 0
        assert r["kv"]["policy"] == r["policy"]
        if r["budget"] is not None:
            assert r["kv"]["budget"] == r["budget"]
    with open(os.path.join(out, "results.md")) as f:
        md = f.read()
    rows = [l for l in md.splitlines() if l.startswith("| ") and not l.startswith("| policy")]
    assert len(rows) == len(expected), md
    svg = ET.parse(os.path.join(out, "results.svg")).getroot()
    assert svg.tag == "{http://www.w3.org/2000/svg}svg"
    lines = [e for e in svg.iter() if e.tag.split("}")[1] in ("polyline", "path")
             and e.get("class") == "series"]
    assert sorted(e.get("data-policy") for e in lines) == sorted(POLICIES), \
        [e.get("data-policy") for e in lines]
    texts = "".join(t.text or "" for t in svg.iter() if t.tag.endswith("text"))
    for b in budgets:
        assert str(b) in texts, f"no x tick for budget {b}"
    return doc


def test_recall(tmp):
    out = os.path.join(tmp, "recall")
    budgets = [8, 64]
    p = trimserve(["eval", "--model", MODEL, "--task", "recall", "--data", RECALL,
                   "--policies", ",".join(POLICIES), "--budgets", "64,8", "--out", out])
    assert "| policy |" in p.stdout and "\r" not in p.stderr, p.stderr
    data = read_jsonl(RECALL)
    doc = check_report(out, "recall", budgets, len(data))
    lanes = doc["lanes"]
    mean = {}
    for r in doc["results"]:
        outcomes = r["outcomes"]
        assert r["total"] == len(outcomes) == len(data)
        assert r["correct"] == sum(o["correct"] for o in outcomes)
        assert close(r["accuracy"], r["correct"] / r["total"], 1e-12)
        assert r["quality"] == r["accuracy"]
        per_dialogue = []
        for o, d in zip(outcomes, data):
            assert o["id"] == d["id"] and o["answer"] == d["answer"]
            assert o["correct"] == (normalize(o["predicted"]) == normalize(d["answer"]))
            turns = o["retained_per_turn"]
            assert len(turns) == len(d["turns"]) + 1  # every turn, then the question
            if r["policy"] == "full":  # nothing evicted: the whole prompt, every lane
                assert turns[-1] == o["prompt_tokens"] * lanes
                assert turns == sorted(turns)
            per_dialogue.append(sum(turns) / len(turns))
        assert close(r["mean_retained_per_turn"], sum(per_dialogue) / len(per_dialogue), 1e-9)
        for t in r["retained_by_turn"]:
            have = [o["retained_per_turn"][t["turn"]] for o in outcomes
                    if len(o["retained_per_turn"]) > t["turn"]]
            assert t["dialogues"] == len(have) and close(t["mean"], sum(have) / len(have), 1e-9)
        mean[(r["policy"], r["budget"])] = r["mean_retained_per_turn"]
    for policy in POLICIES[1:]:
        assert mean[(policy, 8)] < mean[(policy, 64)] <= mean[("full", None)], mean

    # Answers produced by `generate` on the same conversation: full must reproduce them.
    rows = []
    for d in data[:3]:
        messages = []
        for t in d["turns"]:
            messages += [{"role": "user", "content": t["user"]},
                         {"role": "assistant", "content": t["assistant"]}]
        messages.append({"role": "user", "content": d["question"]})
        chat = os.path.join(tmp, d["id"] + ".json")
        with open(chat, "w") as f:
            json.dump(messages, f)
        g = json.loads(trimserve(["generate", "--model", MODEL, "--messages", chat,
                                  "--temperature", "0", "--max-tokens", "4", "--json",
                                  "--kv-policy", "full"]).stdout)
        if normalize(g["text"]):
            rows.append(dict(d, answer=g["text"]))
    assert rows, "generate produced only empty replies"
    derived = os.path.join(tmp, "derived.jsonl")
    write_jsonl(derived, rows)
    p = trimserve(["eval", "--model", MODEL, "--task", "recall", "--data", derived,
                   "--policies", "full", "--max-answer-tokens", "4", "--json"])
    res = json.loads(p.stdout)["results"][0]
    assert res["correct"] == res["total"] == len(rows), res["outcomes"]

    # --max-examples keeps the first N.
    p = trimserve(["eval", "--model", MODEL, "--task", "recall", "--data", RECALL,
                   "--policies", "window", "--budgets", "16", "--max-examples", "2", "--json"])
    res = json.loads(p.stdout)
    assert res["examples"] == 2 and [o["id"] for o in res["results"][0]["outcomes"]] == \
        [d["id"] for d in data[:2]]


def reference_perplexity(texts, policy, budget):
    """exp(mean NLL) by tools/reference.py: each text one window (shorter than the context),
    fed in chunks of CHUNK, logits of every position of a chunk, the policy compressing after
    each chunk — the protocol of `eval --task perplexity`."""
    import torch
    import reference
    m = reference.load_model(MODEL)
    pol = reference.make_policy(m, policy, budget)
    nll, n = 0.0, 0
    with torch.no_grad():
        for ids in texts:
            cache = reference.KVCache.empty(m)
            rows = []
            for s in range(0, len(ids), CHUNK):
                rows.append(reference.forward_step(m, cache, ids[s:s + CHUNK]))
                reference.compress(m, cache, pol)
            logp = torch.log_softmax(torch.cat(rows).to(torch.float64), dim=-1)
            targets = torch.as_tensor(ids[1:], dtype=torch.int64)
            nll -= float(logp[:-1].gather(1, targets[:, None]).sum())
            n += len(ids) - 1
    return math.exp(nll / n), n


def test_perplexity(tmp):
    out = os.path.join(tmp, "ppl")
    data = read_jsonl(PPL)
    texts = [json.loads(trimserve(["tokenize", "--model", MODEL],
                                  stdin=json.dumps(d["text"]) + "\n").stdout) for d in data]
    longest = max(len(t) for t in texts)
    big = 1 << (longest - 1).bit_length()  # a power of two >= every text's length
    budgets = [8, big]
    trimserve(["eval", "--model", MODEL, "--task", "perplexity", "--data", PPL,
               "--policies", ",".join(POLICIES), "--budgets", f"8,{big}", "--out", out])
    doc = check_report(out, "perplexity", budgets, len(data))
    assert doc["window_tokens"] >= longest
    by = {(r["policy"], r["budget"]): r for r in doc["results"]}
    full = by[("full", None)]
    scored = sum(len(t) - 1 for t in texts)
    chunks = sum(-(-len(t) // CHUNK) for t in texts)
    for r in doc["results"]:
        assert r["scored_tokens"] == scored and r["windows"] == len(texts), r
        assert r["chunks"] == chunks and r["quality"] == r["perplexity"]
        assert close(r["perplexity"], math.exp(r["mean_nll"]), 1e-9)
    for policy in POLICIES[1:]:
        # Nothing evicted with a budget above the text length: full's numbers exactly.
        assert close(by[(policy, big)]["perplexity"], full["perplexity"], 1e-9), policy
        assert by[(policy, big)]["mean_retained_per_chunk"] == full["mean_retained_per_chunk"]
        assert by[(policy, 8)]["mean_retained_per_chunk"] < full["mean_retained_per_chunk"]

    for policy, budget in [("full", None)] + [(p, 8) for p in POLICIES[1:]]:
        ref, n = reference_perplexity(texts, policy, budget)
        assert n == scored
        got = by[(policy, budget)]["perplexity"]
        assert close(got, ref, 1e-3), f"{policy} {budget}: trimserve {got} vs reference {ref}"

    # --max-tokens-per-doc cuts texts into windows, each a fresh sequence.
    w = 20
    res = json.loads(trimserve(["eval", "--model", MODEL, "--task", "perplexity", "--data", PPL,
                                "--policies", "full", "--max-tokens-per-doc", str(w),
                                "--json"]).stdout)
    r = res["results"][0]
    windows = [len(t[s:s + w]) for t in texts for s in range(0, len(t), w) if len(t[s:s + w]) > 1]
    assert res["window_tokens"] == w and r["windows"] == len(windows)
    assert r["scored_tokens"] == sum(n - 1 for n in windows)


def test_progress_bar(tmp):
    # stderr a terminal: the bar is drawn in place; not a terminal: nothing (checked above).
    master, slave = pty.openpty()
    p = subprocess.run([BIN, "eval", "--model", MODEL, "--task", "perplexity", "--data", PPL,
                        "--policies", "full,window", "--budgets", "8"],
                       stdout=subprocess.PIPE, stderr=slave, text=True)
    os.close(slave)
    drawn = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        drawn += chunk
    os.close(master)
    assert p.returncode == 0
    assert b"\r" in drawn and b"eval [" in drawn and b"4/4" in drawn, drawn


def test_bad_input(tmp):
    def data(name, lines):
        path = os.path.join(tmp, name)
        with open(path, "w") as f:
            f.write("".join(l + "\n" for l in lines))
        return path

    good = json.dumps({"id": "a", "turns": [], "question": "q?", "answer": "x"})
    cases = [
        (["--data", data("syntax.jsonl", [good, "", '{"id": "b", "turns": [}'])],
         "syntax.jsonl:3: invalid JSON"),
        (["--data", data("type.jsonl", [good, json.dumps({"id": "b", "turns": {},
                                                         "question": "q", "answer": "y"})])],
         "type.jsonl:2: \"turns\" must be an array"),
        (["--data", data("turn.jsonl", [json.dumps({"id": "b", "turns": [{"user": "u"}],
                                                   "question": "q", "answer": "y"})])],
         "turn.jsonl:1: turns[0] must be"),
        (["--data", data("noq1.jsonl", [good, json.dumps({"id": "b", "turns": []})])],
         "noq1.jsonl:2: no \"question\""),
        (["--data", data("dup.jsonl", [good, good])], "dup.jsonl:2: duplicate id \"a\""),
        (["--data", data("array.jsonl", ["[1, 2]"])], "array.jsonl:1: expected a JSON object"),
        (["--data", data("noq.jsonl", [json.dumps({"id": "b", "text": "t"})])],
         "dataset has no questions"),
        (["--data", data("empty.jsonl", [])], "dataset has no questions"),
        (["--data", os.path.join(tmp, "missing.jsonl")], "--data: cannot read"),
        (["--data", RECALL, "--policies", "full,lru"],
         "--policies: unknown policy 'lru' (valid: full, window, trimkv, trimkv-global)"),
        (["--data", RECALL, "--policies", ""], "--policies is empty"),
        (["--data", RECALL, "--budgets", ""], "--budgets is empty"),
        (["--data", RECALL, "--budgets", "64,0"], "--budgets: a budget must be >= 1, got 0"),
        (["--data", RECALL, "--budgets", "64,lots"], "--budgets: expected an integer, got 'lots'"),
        (["--data", RECALL, "--task", "summarize"], "--task: unknown task 'summarize'"),
        (["--data", RECALL, "--model", NOGATE, "--policies", "full,trimkv-global"],
         "--policies trimkv-global needs a model with retention gates"),
        (["--data", RECALL, "--task", "perplexity"], "dataset has no texts"),
        (["--data", data("notext.jsonl", [json.dumps({"id": "p", "text": "some text"}),
                                          json.dumps({"id": "q", "body": "x"})]),
          "--task", "perplexity"], "notext.jsonl:2: no \"text\""),
        (["--data", RECALL, "--bogus"], "unknown option --bogus"),
    ]
    for extra, expected in cases:
        args = ["eval", "--model", MODEL, "--task", "recall"]
        # later flags win: --task/--model in `extra` override the defaults above
        p = trimserve(args + extra, check=False)
        assert p.returncode == 2, f"{extra}: exit {p.returncode}, stderr {p.stderr!r}"
        lines = p.stderr.strip().splitlines()
        assert len(lines) == 1 and expected in lines[0], f"{extra}: {p.stderr!r}"
        assert p.stdout == "", f"{extra}: stdout {p.stdout!r}"
    p = trimserve(["eval", "--help"])
    assert "--policies" in p.stdout and "--budgets" in p.stdout


def main():
    for path in (BIN, MODEL, NOGATE):
        if not os.path.exists(path):
            print(f"missing {path} (set TRIMSERVE_BIN / TRIMSERVE_TINY_MODELS)", file=sys.stderr)
            return 1
    with tempfile.TemporaryDirectory() as tmp:
        for test in (test_bad_input, test_recall, test_perplexity, test_progress_bar):
            test(tmp)
            print(f"ok {test.__name__}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
