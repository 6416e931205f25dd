#!/usr/bin/env bash
# Configures and builds build-asan/: the whole project with clang, ASan + LSan + UBSan
# (TRIMSERVE_SANITIZE) and libFuzzer's coverage instrumentation (TRIMSERVE_FUZZ), without CUDA.
# One build serves both tests/sanitizers.sh (the whole CTest suite) and tests/fuzz.sh (the
# libFuzzer targets), so CI compiles the instrumented code once. -O1 with line tables only
# keeps it to about the release build's time on 2 cores (-O2 -g took twice as long); reports
# still carry file:line. Usage: bash tests/sanitizer_build.sh [ninja targets...]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
flags="-O1 -gline-tables-only"
CC=clang CXX=clang++ cmake -S . -B build-asan -G Ninja -DTRIMSERVE_SANITIZE=ON -DTRIMSERVE_FUZZ=ON \
  -DTRIMSERVE_CUDA=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  "-DCMAKE_C_FLAGS_RELWITHDEBINFO=$flags" "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=$flags" >/dev/null
cmake --build build-asan ${1:+--target "$@"}
