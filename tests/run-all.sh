#!/usr/bin/env bash
# README command (2): install what is missing, build everything, run every test.
# Then the whole suite once more from a clang ASan/LSan/UBSan build (tests/sanitizers.sh), and
# the libFuzzer targets of that same build from their seed corpora (tests/fuzz.sh).
# Exits non-zero when any step or any test fails. .ci/run calls exactly this.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash deploy/install-deps.sh
cmake -S . -B build -G Ninja
cmake --build build
ctest --test-dir build --output-on-failure -j2 --timeout 900
bash tests/sanitizers.sh
bash tests/fuzz.sh
