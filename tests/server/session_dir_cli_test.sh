#!/usr/bin/env bash
# `trimserve generate --session-id ID --session-dir DIR`: a session persisted by one process
# resumes in the next (a restart) from its file instead of recomputing, and generates exactly
# what the first process generated; a corrupt file and a file written under another model are
# rejected with a log line naming the reason, removed, and the turn recomputes with the same
# answer; an assistant line joins the conversation without generating.
set -u
BIN=${TRIMSERVE_BIN:-build/trimserve}
MODELS=${TRIMSERVE_TINY_MODELS:-build/tiny-models}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
common=(--max-tokens 6 --temperature 0 --ignore-eos --session-id chat-7 --session-dir "$tmp/sessions")
model=$MODELS/gqa2-untied-rg
other=$MODELS/gqa1-tied-rg
fail=0
check() { if ! eval "$1"; then echo "FAILED: $2"; fail=1; fi; }

run() {  # run NAME MODEL LINES... ; stdout -> $tmp/NAME.out, stderr -> $tmp/NAME.err
  local name=$1 m=$2
  shift 2
  printf '%s\n' "$@" | "$BIN" generate --model "$m" "${common[@]}" >"$tmp/$name.out" 2>"$tmp/$name.err"
  echo "rc=$?" >>"$tmp/$name.err"
  echo "--- $name"; cat "$tmp/$name.out" "$tmp/$name.err"
}
field() { /usr/bin/python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readlines()[int(sys.argv[2])])[sys.argv[3]])' "$@"; }

run first "$model" '"My locker code is 4417."'
check '[ "$(ls "$tmp/sessions" | grep -c "\.tss$")" = 1 ]' "one session file after the first run"
text1=$(field "$tmp/first.out" 0 text)
prompt1=$(field "$tmp/first.out" 0 prompt_tokens)

# A new process: the same first turn is served from the file.
run restart "$model" '"My locker code is 4417."'
check '[ "$(field "$tmp/restart.out" 0 cache)" = disk ]' "restart resumes from disk"
check '[ "$(field "$tmp/restart.out" 0 cached_tokens)" = $((prompt1 - 1)) ]' "restart reuses the whole prompt but its last token"
check '[ "$(field "$tmp/restart.out" 0 text)" = "$text1" ]' "restart generates what the first run generated"

# A recorded assistant reply joins the conversation without generating; the next turn resumes.
reply=$(/usr/bin/python3 -c 'import json,sys; print(json.dumps({"role":"assistant","content":sys.argv[1]}))' "$text1")
run replay "$model" '"My locker code is 4417."' "$reply" '"What was it?"'
check '[ "$(wc -l <"$tmp/replay.out")" = 2 ]' "the assistant line generates nothing"
check '[ "$(field "$tmp/replay.out" 1 cache)" = memory ]' "second asked turn resumes in memory"

# Corrupt the file: rejected, removed, recomputed with the same answer, rewritten.
f=$(ls "$tmp/sessions"/*.tss)
/usr/bin/python3 - "$f" <<'PY'
import sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
b[len(b) // 2] ^= 0x40
open(p, "wb").write(bytes(b))
PY
run corrupt "$model" '"My locker code is 4417."'
check 'grep -q "rejected, recomputing the turn: .*checksum mismatch" "$tmp/corrupt.err"' "corrupt file logged"
check '[ "$(field "$tmp/corrupt.out" 0 cache)" = new ]' "corrupt file recomputed"
check '[ "$(field "$tmp/corrupt.out" 0 text)" = "$text1" ]' "recomputed turn answers the same"
check 'grep -q "rc=0" "$tmp/corrupt.err"' "corrupt file is not an error of the run"
run after_corrupt "$model" '"My locker code is 4417."'
check '[ "$(field "$tmp/after_corrupt.out" 0 cache)" = disk ]' "the rewritten file loads again"

# Another model: the file is foreign.
run foreign "$other" '"My locker code is 4417."'
check 'grep -q "foreign session file" "$tmp/foreign.err"' "foreign file logged"
check '[ "$(field "$tmp/foreign.out" 0 cache)" = new ]' "foreign file recomputed"

# --session-dir alone is a usage error.
"$BIN" generate --model "$model" --prompt hi --session-dir "$tmp/x" >/dev/null 2>"$tmp/usage.err"
check '[ $? = 2 ] && grep -q "session-dir needs --session-id" "$tmp/usage.err"' "--session-dir without --session-id"

[ $fail = 0 ] && echo "session_dir_cli_test: restart resumes from disk; corrupt and foreign files recomputed"
exit $fail
