#!/usr/bin/env bash
# README command (1): install what is missing, build, and generate from the default model.
# Until the embedded trained model lands (issue 6) the default is a tiny random model that
# tools/make_tiny_model.py writes into build/tiny-models.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash deploy/install-deps.sh
cmake -S . -B build -G Ninja
cmake --build build --target trimserve
model=build/tiny-models/large
if [ ! -f "$model/config.json" ]; then
  /usr/bin/python3 tools/make_tiny_model.py --shape large --out build/tiny-models
fi
set -x
build/trimserve generate --model "$model" --prompt "${1:-Once upon a time}" --max-tokens 48 \
  --temperature 0.8 --seed 7 --kv-policy trimkv-global --kv-budget 16
