#!/usr/bin/env bash
# README command (2): install what is missing, build everything, run every test.
# Then the CPU container image is built from deploy/Dockerfile.cpu and run (buildah; alone,
# since it keeps both cores busy for minutes), the whole suite runs once more from a clang
# ASan/LSan/UBSan build (tests/sanitizers.sh), and the libFuzzer targets of that same build
# run from their seed corpora (tests/fuzz.sh).
# Exits non-zero when any step or any test fails. .ci/run calls exactly this.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash deploy/install-deps.sh
cmake -S . -B build -G Ninja
cmake --build build
ctest --test-dir build --output-on-failure -j2 --timeout 900
/usr/bin/python3 tests/deploy/cpu_image_build.py
bash tests/sanitizers.sh
bash tests/fuzz.sh
