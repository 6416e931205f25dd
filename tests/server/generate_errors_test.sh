#!/usr/bin/env bash
# `trimserve generate` / `tokenize` on bad input: each case must print exactly one line on
# stderr that names the problem, exit with the documented code (2 usage/config/input,
# 1 runtime), and never crash.
set -u
BIN=${TRIMSERVE_BIN:-build/trimserve}
MODELS=${TRIMSERVE_TINY_MODELS:-build/tiny-models}
good=$MODELS/gqa2-untied-rg
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0

# expect <code> <stderr substring> <command...>
expect() {
  local code=$1 pattern=$2
  shift 2
  "$@" >"$tmp/out" 2>"$tmp/err" </dev/null
  local rc=$? lines
  lines=$(wc -l <"$tmp/err")
  if [ "$rc" -ne "$code" ] || ! grep -qF -- "$pattern" "$tmp/err" || [ "$lines" -ne 1 ]; then
    echo "FAIL: $(echo "$*" | cut -c1-160) -> rc=$rc (want $code), stderr ($lines lines):"; sed 's/^/    /' "$tmp/err"
    echo "    wanted it to contain: $pattern"
    fails=$((fails + 1))
  else
    echo "ok: rc=$rc $(cat "$tmp/err")"
  fi
}

expect 2 "does not exist" "$BIN" generate --model "$tmp/nope" --prompt hi
expect 2 "unknown option --promt" "$BIN" generate --model "$good" --promt hi
expect 2 "exactly one of" "$BIN" generate --model "$good"
expect 2 "--kv-budget must be >= 1" "$BIN" generate --model "$good" --prompt hi --kv-policy trimkv --kv-budget 0
expect 2 "--kv-policy: unknown value 'trimkvv'" "$BIN" generate --model "$good" --prompt hi --kv-policy trimkvv
expect 2 "needs a model with retention gates" "$BIN" generate --model "$MODELS/gqa2-nogate" --prompt hi --kv-policy trimkv
expect 2 "outside [0," "$BIN" generate --model "$good" --prompt-ids 1,2,999999
expect 2 "top_p must be in (0, 1], got 1.5" "$BIN" generate --model "$good" --prompt hi --top-p 1.5
long_prompt="$(printf '7,%.0s' $(seq 1 5000))7"
expect 2 "exceeds the model's context length" "$BIN" generate --model "$good" --prompt-ids "$long_prompt"
expect 2 "--session-id reads the turns from stdin" "$BIN" generate --model "$good" --session-id s --prompt hi
expect 2 "unknown command" "$BIN" frobnicate

# config.json with a wrong type
cp -r "$good" "$tmp/badcfg"
/usr/bin/python3 - "$tmp/badcfg/config.json" <<'PY'
import json, sys
p = sys.argv[1]; c = json.load(open(p)); c["num_hidden_layers"] = "two"; json.dump(c, open(p, "w"))
PY
expect 2 "num_hidden_layers" "$BIN" generate --model "$tmp/badcfg" --prompt hi

# truncated safetensors
cp -r "$good" "$tmp/trunc"
f="$tmp/trunc/model.safetensors"
truncate -s $(( $(stat -c %s "$f") / 2 )) "$f"
expect 1 "truncated" "$BIN" generate --model "$tmp/trunc" --prompt hi

# tokenizer.json of another model type
cp -r "$good" "$tmp/badtok"
/usr/bin/python3 - "$tmp/badtok/tokenizer.json" <<'PY'
import json, sys
p = sys.argv[1]; t = json.load(open(p)); t["model"]["type"] = "WordPiece"; json.dump(t, open(p, "w"))
PY
expect 2 "WordPiece" "$BIN" generate --model "$tmp/badtok" --prompt hi
expect 2 "WordPiece" "$BIN" tokenize --model "$tmp/badtok"

# tokenize: a bad line is reported with its number, good lines still answered
printf '"hello"\n[1,2]\n"world"\n' | "$BIN" tokenize --model "$good" >"$tmp/out" 2>"$tmp/err"
rc=$?
if [ $rc -ne 2 ] || [ "$(wc -l <"$tmp/out")" -ne 3 ] || ! grep -q "line 2" "$tmp/err"; then
  echo "FAIL: tokenize with a bad line: rc=$rc"; cat "$tmp/out" "$tmp/err"; fails=$((fails + 1))
else
  echo "ok: tokenize reports line 2 and answers the others"
fi

[ $fails -eq 0 ] || { echo "$fails case(s) failed"; exit 1; }
echo "generate_errors_test: all cases passed"
