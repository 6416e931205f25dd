#!/usr/bin/env bash
# README command (1): install what is missing, build, and run the daemon on the embedded default
# model, trimchat-6m (deploy/models/trimchat-6m, trained by tools/retrain.sh; see its
# MODEL_CARD.md). Serves the OpenAI-compatible API on 127.0.0.1:${PORT:-8080} and gRPC on
# 127.0.0.1:${GRPC_PORT:-50051} in the foreground;
# Ctrl-C (SIGINT) or SIGTERM drains and stops it.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash deploy/install-deps.sh
cmake -S . -B build -G Ninja
cmake --build build --target trimserve
port=${PORT:-8080}
echo "quickstart: try  curl -s localhost:$port/v1/chat/completions -H 'Content-Type: application/json' \\"
echo "  -d '{\"model\": \"trimchat-6m\", \"messages\": [{\"role\": \"user\", \"content\": \"My locker code is 4417.\"}], \"max_tokens\": 32}'"
echo "quickstart: or chat over gRPC:  build/trimserve client --target 127.0.0.1:${GRPC_PORT:-50051}"
set -x
exec build/trimserve serve --port "$port" --grpc-port "${GRPC_PORT:-50051}"
