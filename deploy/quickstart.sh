#!/usr/bin/env bash
# README command (1): install what is missing, build, and run the daemon on the default model.
# Until the embedded trained model lands (issue 6) the default is a tiny random model that
# tools/make_tiny_model.py writes into build/tiny-models. Serves the OpenAI-compatible API on
# 127.0.0.1:${PORT:-8080} in the foreground; Ctrl-C (SIGINT) or SIGTERM drains and stops it.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash deploy/install-deps.sh
cmake -S . -B build -G Ninja
cmake --build build --target trimserve
model=build/tiny-models/large
if [ ! -f "$model/config.json" ]; then
  /usr/bin/python3 tools/make_tiny_model.py --shape large --out build/tiny-models
fi
port=${PORT:-8080}
echo "quickstart: try  curl -s localhost:$port/v1/chat/completions -H 'Content-Type: application/json' \\"
echo "  -d '{\"model\": \"large\", \"messages\": [{\"role\": \"user\", \"content\": \"Hello\"}], \"max_tokens\": 16}'"
set -x
exec build/trimserve serve --model "$model" --port "$port"
