#!/usr/bin/env bash
# The whole test suite once more, from an ASan + LSan + UBSan build (tests/sanitizer_build.sh,
# build-asan/): every Catch2 test and every script test, whose daemons and tools are the
# instrumented binaries. Any sanitizer report fails, whether or not the test that provoked it
# noticed: reports go to files under build-asan/sanitizer-reports/ (ASan's and UBSan's
# log_path, one file per reporting process), and a non-empty folder fails the run after
# printing them. Called by tests/run-all.sh after the main suite.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash tests/sanitizer_build.sh
reports=$PWD/build-asan/sanitizer-reports
rm -rf "$reports" && mkdir -p "$reports"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:detect_stack_use_after_return=1:log_path=$reports/asan
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:log_path=$reports/ubsan
export TRIMSERVE_SANITIZED=1  # tests/support/daemon.py: tests that race a slow daemon do less
status=0
ctest --test-dir build-asan --output-on-failure -j2 --timeout 900 || status=1
shopt -s nullglob
found=("$reports"/*)
if [ ${#found[@]} -gt 0 ]; then
  for f in "${found[@]}"; do
    echo "== sanitizer report: ${f#"$PWD"/}"
    cat "$f"
  done
  echo "sanitizers: ${#found[@]} report(s)" >&2
  exit 1
fi
[ $status -eq 0 ] || { echo "sanitizers: a test failed in the instrumented build" >&2; exit 1; }
echo "sanitizers: whole suite passed, no reports"
