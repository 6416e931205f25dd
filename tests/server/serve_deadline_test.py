"""`trimserve serve` with server.limits.request_timeout_s and tenant limits: a request that runs
past its deadline is answered 504 (timeout_error) when nothing was streamed yet, or ends its SSE
stream with an error event after the tokens it produced; the tokens it did not generate are
refunded to the tenant's tokens_per_min, so the next request passes where, charged in full, it
would have been refused; a kv_share too small for one sequence is a startup error naming the
key; and the daemon keeps serving and exits 0 on SIGTERM."""
import http.client
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
from daemon import BIN, MODELS, Daemon  # noqa: E402

TIMEOUT_S = 1.0
CONFIG = (f"server:\n  port: 0\n  limits:\n    request_timeout_s: {TIMEOUT_S}\n"
          "model:\n  served_name: tiny\n"
          "engine:\n  prefill_chunk: 64\n"
          "kvpool:\n  capacity: {entries: 200000}\n"
          "tenants:\n"
          "  - name: acme\n    api_keys: [acme-key]\n"
          "    limits: {tokens_per_min: 3000, kv_share: 0.5}\n")
KEY = {"Authorization": "Bearer acme-key", "Content-Type": "application/json"}
problems = []


def post(port, body):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    started = time.monotonic()
    c.request("POST", "/v1/completions", body=json.dumps(body), headers=KEY)
    r = c.getresponse()
    payload = r.read().decode()
    c.close()
    return r.status, payload, time.monotonic() - started


LONG = {"model": "tiny", "prompt": "Once upon a time", "temperature": 0, "ignore_eos": True}

with tempfile.TemporaryDirectory() as tmp:
    # The `large` tiny model makes ~100 tokens/s on 2 cores: 1500 tokens take far longer than
    # the 1 s deadline.
    daemon = Daemon(tmp, model="large", config=CONFIG)
    try:
        status, body, took = post(daemon.port, dict(LONG, max_tokens=1500))
        err = json.loads(body).get("error", {}) if body.startswith("{") else {}
        print(f"non-streaming past the deadline: {status} after {took:.2f} s: {body[:160]}")
        if status != 504 or err.get("type") != "timeout_error" or "deadline" not in err.get("message", ""):
            problems.append(f"non-streaming deadline: {status} {body[:200]}")
        # Charged 4 + 1500 of 3000; about 1400 unused come back. Without the refund the bucket
        # (~1500 + what a few seconds refill) could not pay for 2000 more.
        status, body, took = post(daemon.port, dict(LONG, max_tokens=2000, stream=True))
        events = [line[6:] for line in body.splitlines() if line.startswith("data: ")]
        tokens = [e for e in events if e.startswith("{") and '"text"' in e]
        print(f"streaming past the deadline: {status} after {took:.2f} s, {len(tokens)} chunks, "
              f"last event: {events[-1][:160] if events else None}")
        if status != 200 or not tokens or "request_timeout" not in events[-1]:
            problems.append(f"streaming deadline: {status} {body[-300:]}")
        if "[DONE]" in events:
            problems.append("a stream cut by its deadline must not end with [DONE]")
        status, body, _ = post(daemon.port, {"model": "tiny", "prompt": "after", "max_tokens": 3})
        if status != 200:
            problems.append(f"after the deadlines: {status} {body[:200]}")
        c = http.client.HTTPConnection("127.0.0.1", daemon.port, timeout=10)
        c.request("GET", "/ready")
        ready = c.getresponse()
        ready.read()
        if ready.status != 200:
            problems.append(f"/ready: {ready.status}")
        c.request("GET", "/metrics")
        metrics = c.getresponse().read().decode()
        line = [l for l in metrics.splitlines() if l.startswith('trimserve_requests_ended_total{cause="deadline"}')]
        print("metrics:", line)
        if not line or float(line[0].split()[-1]) < 2:
            problems.append(f"deadline metric: {line}")
    finally:
        rc = daemon.stop()
    if rc != 0:
        problems.append(f"exit code {rc}")

    # A share of the pool smaller than one sequence needs can never serve the tenant.
    cfg = os.path.join(tmp, "tiny-share.yaml")
    with open(cfg, "w") as f:
        f.write(CONFIG.replace("kv_share: 0.5", "kv_share: 0.0001"))
    r = subprocess.run([BIN, "serve", "--config", cfg, "--model", f"{MODELS}/large"],
                       capture_output=True, text=True, timeout=60)
    print("tiny kv_share:", r.returncode, r.stderr.strip().splitlines()[-1:])
    if r.returncode != 2 or "tenants[0].limits.kv_share" not in r.stderr:
        problems.append(f"tiny kv_share: exit {r.returncode}: {r.stderr[-300:]}")

if problems:
    print("FAILED:\n  " + "\n  ".join(problems))
    sys.exit(1)
print("serve_deadline_test: 504 / SSE error at the deadline, tokens refunded, share checked at "
      "startup")
