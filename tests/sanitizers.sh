#!/usr/bin/env bash
# Memory checks of the code that owns memory across calls (issue 4: zero leaks):
#   1. the KV pool, sessions and session files — their unit and brute-force property tests —
#      and the metrics registry,
#      rebuilt with ASan + LSan + UBSan (CMake option TRIMSERVE_SANITIZE) in build-asan/;
#   2. the engine-level tests (runner, session manager with files, K/V row copies, the
#      scheduler and the threaded engine loop)
#      under valgrind memcheck, from the main build (rebuilding the engine, tokenizer and chat
#      template with ASan would double CI's build time).
# Any report (leak, overflow, use-after-free, UB, invalid read) fails. Called by
# tests/run-all.sh after the main suite, which must have built build/.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# Runs a command quietly: its summary line when it passes, all of its output when it fails.
run() {
  local log
  log=$(mktemp)
  if ! "$@" >"$log" 2>&1; then
    cat "$log"
    rm -f "$log"
    return 1
  fi
  tail -n 2 "$log"
  rm -f "$log"
}
asan_targets=(page_table_test kv_pool_test kv_pool_truncate_test kv_pool_reclaim_test
              policy_brute_force_test session_store_test session_pool_brute_force_test
              session_file_test session_dir_test crc32c_test metrics_test
              metrics_text_format_test)
cmake -S . -B build-asan -G Ninja -DTRIMSERVE_SANITIZE=ON -DTRIMSERVE_CUDA=OFF \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build-asan --target "${asan_targets[@]}"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:detect_stack_use_after_return=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
for t in "${asan_targets[@]}"; do
  echo "== asan: $t"
  run build-asan/tests/"$t"
done

export TRIMSERVE_TINY_MODELS=${TRIMSERVE_TINY_MODELS:-build/tiny-models}
[ -d "$TRIMSERVE_TINY_MODELS/gqa2-untied-rg" ] || \
  /usr/bin/python3 tools/make_tiny_model.py --all --out "$TRIMSERVE_TINY_MODELS" >/dev/null
for t in kv_entries_test sequence_runner_test session_runner_test session_manager_test \
         scheduler_test engine_loop_test; do
  echo "== valgrind: $t"
  run valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect \
    --error-exitcode=1 build/tests/"$t"
done
echo "sanitizers: no reports"
