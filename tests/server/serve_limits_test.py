"""`trimserve serve` under its admission limits: a prompt over server.limits.max_prompt_tokens
is 400 context_length_exceeded, and with one running slot (scheduler.max_running_seqs 1) and
server.limits.max_queue 2, a burst of concurrent requests gets 503 + Retry-After for those that
would queue past the limit while the admitted ones complete; the daemon then serves normally and
exits 0."""
import http.client
import json
import os
import sys
import tempfile
import threading

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
from daemon import Daemon  # noqa: E402

CONFIG = ("server:\n  port: 0\n  limits:\n    max_prompt_tokens: 200\n    max_queue: 2\n"
          "model:\n  served_name: tiny\n"
          "engine:\n  prefill_chunk: 64\n"
          "kvpool:\n  capacity: {entries: 200000}\n"
          "scheduler:\n  max_batched_tokens: 256\n  max_running_seqs: 1\n")
problems = []


def post(port, body):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    c.request("POST", "/v1/completions", body=json.dumps(body), headers={"Content-Type": "application/json"})
    r = c.getresponse()
    payload = r.read()
    c.close()
    return r.status, r.getheader("Retry-After"), payload


with tempfile.TemporaryDirectory() as tmp:
    daemon = Daemon(tmp, config=CONFIG)
    try:
        status, _, body = post(daemon.port, {"model": "tiny", "prompt": "word " * 400, "max_tokens": 2})
        err = json.loads(body).get("error", {})
        if (status != 400 or err.get("code") != "context_length_exceeded"
                or "limit of 200" not in err.get("message", "")):
            problems.append(f"long prompt: {status} {body[:200]}")

        results = []
        lock = threading.Lock()

        def client(i):
            r = post(daemon.port, {"model": "tiny", "prompt": f"burst {i}", "max_tokens": 48,
                                   "temperature": 0, "ignore_eos": True})
            with lock:
                results.append(r)

        threads = [threading.Thread(target=client, args=(i,)) for i in range(10)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        codes = sorted(r[0] for r in results)
        print("burst status codes:", codes)
        if codes.count(200) < 1 or codes.count(503) < 1 or set(codes) - {200, 503}:
            problems.append(f"burst: {codes}")
        for status, retry, body in results:
            if status == 503 and (retry != "1" or "overloaded" not in body.decode()):
                problems.append(f"503 without Retry-After or message: {retry} {body[:200]}")
        status, _, _ = post(daemon.port, {"model": "tiny", "prompt": "after", "max_tokens": 2})
        if status != 200:
            problems.append(f"after the burst: {status}")
    finally:
        rc = daemon.stop()
    if rc != 0:
        problems.append(f"exit code {rc}")

if problems:
    print("FAILED:\n  " + "\n  ".join(problems))
    sys.exit(1)
print("serve_limits_test: prompt limit 400, queue limit 503 + Retry-After, still serving")
