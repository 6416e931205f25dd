#!/usr/bin/env bash
# Fuzzing (issue 7): runs each libFuzzer target of tests/fuzz, built with clang, ASan and UBSan
# in build-asan/ (tests/sanitizer_build.sh; the libraries they reach are instrumented for
# coverage too), for FUZZ_SECONDS (default 20) from a scratch copy of its committed seed corpus
# (tests/fuzz/corpus/<target>/), and replays every input kept under
# tests/fuzz/regressions/<target>/ (inputs that once crashed, fixed since). A crash, a
# sanitizer report, a leak or a timeout fails; the crashing input is left in
# build-asan/fuzz-findings/ (printed) to be fixed and then added to regressions/. Prints
# executions per target and writes them to build-asan/fuzz-stats.txt. Called by
# tests/run-all.sh after tests/sanitizers.sh.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
seconds=${FUZZ_SECONDS:-20}
targets=(http_request chat_template tokenizer model_loader config)
b=build-asan
bash tests/sanitizer_build.sh "${targets[@]/%/_fuzz}"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
: >$b/fuzz-stats.txt
for t in "${targets[@]}"; do
  bin=$b/fuzz/${t}_fuzz
  work=$b/fuzz-corpus/$t
  rm -rf "$work" && mkdir -p "$work" $b/fuzz-findings/$t
  cp tests/fuzz/corpus/"$t"/* "$work"/
  regressions=(tests/fuzz/regressions/"$t"/*)
  if [ -e "${regressions[0]}" ]; then
    "$bin" -timeout=10 "${regressions[@]}" >"$b/$t-regressions.log" 2>&1 ||
      { cat "$b/$t-regressions.log"; echo "fuzz: $t: a kept regression input fails again" >&2; exit 1; }
  fi
  log=$b/$t.log
  if ! "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
       -print_final_stats=1 -artifact_prefix="$b/fuzz-findings/$t/" "$work" >"$log" 2>&1; then
    tail -n 60 "$log"
    echo "fuzz: $t found a failure; its input is in $b/fuzz-findings/$t/" >&2
    exit 1
  fi
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1)
  echo "fuzz: $t: ${runs:-?} executions in ${seconds} s, ${cov:-cov: ?}, corpus $(ls "$work" | wc -l) inputs, no findings" |
    tee -a $b/fuzz-stats.txt
done
