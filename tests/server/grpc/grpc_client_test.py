"""`trimserve client` (the project's C++ gRPC client) against a live daemon, scripted:

- --prompt: one turn, the reply equals what /v1/chat/completions answers (greedy);
- stdin turns with --json: one JSON line per turn, one session (the second turn's
  cached_tokens > 0), /session shows the server's history, /reset deletes it;
- --api-key reaches the tenants (a wrong key is UNAUTHENTICATED, exit 1);
- a refused request exits 2 with the server's message; an unreachable server exits 1.

Env: TRIMSERVE_SRC, TRIMSERVE_BIN, TRIMSERVE_TINY_MODELS.
"""
import http.client
import json
import os
import subprocess
import sys
import tempfile

SRC = os.environ.get("TRIMSERVE_SRC", os.getcwd())
sys.path.insert(0, os.path.join(SRC, "tests", "support"))
from checks import check, problems  # noqa: E402
from daemon import BIN, DEFAULT_CONFIG, Daemon  # noqa: E402

GREEDY = ["--max-tokens", "8", "--temperature", "0"]


def client(target, *args, stdin=None):
    return subprocess.run([BIN, "client", "--target", target, *args], input=stdin,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=120)


def http_chat(port, messages, key=None, session=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Content-Type": "application/json"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    c.request("POST", "/v1/chat/completions", headers=headers, body=json.dumps(
        {"model": "tiny", "messages": messages, "max_tokens": 8, "temperature": 0,
         **({"session_id": session} if session else {})}))
    return json.loads(c.getresponse().read())["choices"][0]["message"]["content"]


config = DEFAULT_CONFIG + "tenants:\n  - name: acme\n    api_keys: [sk-acme]\n"
with tempfile.TemporaryDirectory() as tmp:
    daemon = Daemon(tmp, config=config)
    t = daemon.grpc_target
    try:
        p = client(t, "--api-key", "sk-acme", "--prompt", "My locker code is 4417.", *GREEDY)
        # The same conversation over HTTP, in its own session: the session's compressed cache
        # shapes the second reply, so both transports must give the same text turn by turn.
        want = http_chat(daemon.port, [{"role": "user", "content": "My locker code is 4417."}],
                         "sk-acme", "http-1")
        check(p.returncode == 0, f"--prompt: rc {p.returncode}: {p.stderr}")
        check(p.stdout == want + "\n", f"--prompt printed {p.stdout!r}, HTTP answers {want!r}")

        script = "My locker code is 4417.\n\nWhat is my locker code?\n/session\n/reset\n/session\n"
        p = client(t, "--api-key", "sk-acme", "--json", "--session", "conv-1", *GREEDY, stdin=script)
        check(p.returncode == 0, f"scripted: rc {p.returncode}: {p.stderr}")
        lines = [json.loads(l) for l in p.stdout.splitlines()]
        print("\n".join(json.dumps(l) for l in lines))
        turns = [l for l in lines if "request_id" in l]
        check(len(turns) == 2, f"{len(turns)} turns answered")
        if len(turns) == 2:
            check(turns[0]["text"] == want, f"first turn {turns[0]['text']!r} vs HTTP {want!r}")
            check(all(l["session_id"] == "conv-1" for l in turns), "one session for the conversation")
            check(turns[0]["usage"]["cached_tokens"] == 0 and turns[1]["usage"]["cached_tokens"] > 0,
                  f"cached tokens per turn: {[l['usage']['cached_tokens'] for l in turns]}")
            check(all(len(l["token_ids"]) == 8 and l["finish_reason"] == "length" for l in turns),
                  "8 tokens per turn, finish_reason length")
            second = http_chat(daemon.port, [{"role": "user", "content": "My locker code is 4417."},
                                             {"role": "assistant", "content": turns[0]["text"]},
                                             {"role": "user", "content": "What is my locker code?"}],
                               "sk-acme", "http-1")
            check(turns[1]["text"] == second, f"second turn {turns[1]['text']!r} vs HTTP {second!r}")
        infos = [l for l in lines if "num_tokens" in l]
        check(len(infos) == 1 and infos[0]["session_id"] == "conv-1" and infos[0]["num_tokens"] > 0,
              f"/session: {infos}")
        check("new conversation" in p.stderr and "NOT_FOUND" in p.stderr,
              f"/reset then /session: {p.stderr!r}")

        p = client(t, "--api-key", "sk-wrong", "--prompt", "hi")
        check(p.returncode == 1 and "UNAUTHENTICATED" in p.stderr, f"wrong key: {p.returncode} {p.stderr!r}")
        p = client(t, "--api-key", "sk-acme", "--prompt", "hi", "--top-p", "2")
        check(p.returncode == 2 and "INVALID_ARGUMENT: top_p" in p.stderr, f"bad top_p: {p.returncode} {p.stderr!r}")
        print("refused:", p.stderr.strip())
        p = client(t)
        check(p.returncode == 0 and p.stdout == "", "empty stdin is an empty conversation")
        p = subprocess.run([BIN, "client"], stderr=subprocess.PIPE, text=True)
        check(p.returncode == 2 and "--target" in p.stderr, f"no --target: {p.stderr!r}")
    finally:
        check(daemon.stop() == 0, "daemon exit code")
    p = client(t, "--prompt", "hi", "--timeout", "5")
    check(p.returncode == 1 and "UNAVAILABLE" in p.stderr, f"server gone: {p.returncode} {p.stderr!r}")

if problems:
    sys.exit(1)
print("grpc_client_test: ok")
