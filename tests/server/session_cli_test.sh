#!/usr/bin/env bash
# `trimserve generate --session-id`: multi-turn replay from stdin. Checks that later turns
# reuse the session's cache (cached_tokens > 0), that with policy full a resumed turn
# generates exactly what a one-shot run over the same re-rendered conversation generates,
# and that a bad line is reported with its number while the other turns still run.
set -u
BIN=${TRIMSERVE_BIN:-build/trimserve}
MODELS=${TRIMSERVE_TINY_MODELS:-build/tiny-models}
model=$MODELS/gqa2-untied-rg
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
common=(--model "$model" --max-tokens 8 --temperature 0 --ignore-eos)

printf '%s\n' '"My locker code is 4417."' 'oops' '"What was my locker code?"' \
  | "$BIN" generate "${common[@]}" --kv-policy full --session-id demo >"$tmp/turns" 2>"$tmp/err"
rc=$?
cat "$tmp/turns" "$tmp/err"

/usr/bin/python3 - "$tmp" "$rc" "$BIN" "${common[@]}" <<'PY'
import json, subprocess, sys
tmp, rc, binary, common = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4:]
turns = [json.loads(l) for l in open(f"{tmp}/turns")]
err = open(f"{tmp}/err").read()
problems = []
if rc != 2 or "line 2: not valid JSON" not in err:
    problems.append(f"bad line: rc={rc}, stderr={err!r}")
if [t["turn"] for t in turns] != [1, 2]:
    problems.append(f"expected turns 1 and 2, got {turns}")
else:
    t1, t2 = turns
    if t1["cached_tokens"] != 0 or t2["cached_tokens"] <= 0 or t2["cached_tokens"] >= t2["prompt_tokens"]:
        problems.append(f"cached_tokens: turn 1 {t1['cached_tokens']}, turn 2 {t2['cached_tokens']} of {t2['prompt_tokens']}")
    # One-shot over the same conversation as the template re-renders it for turn 2.
    messages = [{"role": "user", "content": "My locker code is 4417."},
                {"role": "assistant", "content": t1["text"]},
                {"role": "user", "content": "What was my locker code?"}]
    with open(f"{tmp}/chat.json", "w") as f:
        json.dump({"messages": messages}, f)
    p = subprocess.run([binary, "generate"] + common + ["--kv-policy", "full", "--messages", f"{tmp}/chat.json", "--json"],
                       capture_output=True, text=True)
    one_shot = json.loads(p.stdout)
    if one_shot["prompt_tokens"] != t2["prompt_tokens"]:
        problems.append(f"prompt_tokens: one-shot {one_shot['prompt_tokens']} vs session {t2['prompt_tokens']}")
    if one_shot["text"] != t2["text"]:
        problems.append(f"turn 2 text differs from a one-shot run: {t2['text']!r} vs {one_shot['text']!r}")
if problems:
    print("FAILED:\n  " + "\n  ".join(problems))
    sys.exit(1)
print("session_cli_test: resumed turn equals the one-shot run; bad line reported")
PY
