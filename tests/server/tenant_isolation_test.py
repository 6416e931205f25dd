"""Tenant isolation, over HTTP and gRPC, between two tenants with keys (acme, globex):

- sessions: globex cannot read, delete or continue acme's session of the same name (404 /
  NOT_FOUND; its own chat under that name starts from nothing) and acme's session is intact;
- errors: a wrong key is refused without echoing it; refusals never name the other tenant;
- rate limits: acme over its requests_per_min gets 429 + Retry-After while globex is served;
- request size: a body over server.limits.max_body_bytes is 413, and the daemon serves on;
- session limits: globex's own limits.max_sessions (2) holds its resident sessions, its least
  recently used idle one dropped for a new one, while acme has the default;
- metrics: per-tenant series carry tenant names only — no key, plain or hashed, appears in
  /metrics, and neither does any key in the daemon's log.

Env: TRIMSERVE_SRC, TRIMSERVE_BIN, TRIMSERVE_TINY_MODELS.
"""
import json
import os
import sys
import tempfile

import grpc

SRC = os.environ.get("TRIMSERVE_SRC", os.getcwd())
sys.path.insert(0, os.path.join(SRC, "tests", "support"))
import grpc_stubs  # noqa: E402
from checks import check, problems  # noqa: E402
from daemon import DEFAULT_CONFIG, Daemon  # noqa: E402
from daemon_http import call  # noqa: E402

ACME, GLOBEX, WRONG = "sk-acme-7f3c9e21", "sk-globex-0b5d8a44", "sk-wrong-123456"
CONFIG = DEFAULT_CONFIG.replace("kvpool:\n", "kvpool:\n  sessions: {ttl_s: 600}\n", 1) + (
    "tenants:\n"
    f"  - name: acme\n    api_keys: [{ACME}]\n    limits: {{requests_per_min: 6}}\n"
    f"  - name: globex\n    api_keys: [{GLOBEX}]\n    limits: {{max_sessions: 2}}\n")
FACT = [{"role": "user", "content": "My locker code is 4417."}]


def chat(port, key, session=None, messages=FACT):
    body = {"model": "tiny", "messages": messages, "max_tokens": 4, "temperature": 0}
    if session:
        body["session_id"] = session
    return call(port, "POST", "/v1/chat/completions", body, key=key)


with tempfile.TemporaryDirectory() as tmp:
    pb, pbg = grpc_stubs.load(tmp)
    daemon = Daemon(tmp, config=CONFIG)
    channel = grpc.insecure_channel(daemon.grpc_target)
    stub = pbg.InferenceStub(channel)
    port = daemon.port
    try:
        status, _, body = chat(port, ACME, "conv")
        check(status == 200, f"acme's first turn: {status} {body}")
        _, _, held = call(port, "GET", "/v1/sessions/conv", key=ACME)
        acme_tokens = json.loads(held)["tokens"]

        status, _, body = call(port, "GET", "/v1/sessions/conv", key=GLOBEX)
        check(status == 404 and "acme" not in body, f"globex reads acme's session: {status} {body}")
        status, _, body = call(port, "DELETE", "/v1/sessions/conv", key=GLOBEX)
        check(status == 404, f"globex deletes acme's session: {status} {body}")
        try:
            stub.GetSession(pb.SessionRequest(session_id="conv"),
                            metadata=[("authorization", f"Bearer {GLOBEX}")], timeout=10)
            check(False, "gRPC: globex read acme's session")
        except grpc.RpcError as e:
            check(e.code() == grpc.StatusCode.NOT_FOUND and "acme" not in e.details(),
                  f"gRPC GetSession across tenants: {e.code()} {e.details()!r}")
        status, _, body = chat(port, GLOBEX, "conv")
        cached = json.loads(body)["usage"].get("prompt_tokens_details", {}).get("cached_tokens")
        check(status == 200 and cached == 0, f"globex's own 'conv' starts empty: {status} cached={cached}")
        status, _, held = call(port, "GET", "/v1/sessions/conv", key=ACME)
        check(status == 200 and json.loads(held)["tokens"] == acme_tokens,
              f"acme's session after globex's calls: {status} {held} (had {acme_tokens} tokens)")

        status, _, body = chat(port, WRONG)
        check(status == 401 and WRONG not in body and "acme" not in body and "globex" not in body,
              f"wrong key: {status} {body}")
        try:
            list(stub.Generate(pb.GenerateRequest(prompt="x"), metadata=[("authorization", f"Bearer {WRONG}")],
                               timeout=10))
            check(False, "gRPC: a wrong key was served")
        except grpc.RpcError as e:
            check(e.code() == grpc.StatusCode.UNAUTHENTICATED and WRONG not in e.details(),
                  f"gRPC wrong key: {e.code()} {e.details()!r}")

        limited = None
        for _ in range(10):  # acme has made 1 chat; its bucket holds 6 a minute
            status, headers, body = chat(port, ACME)
            if status == 429:
                limited = (headers.get("Retry-After"), body)
                break
        check(limited is not None and limited[0] is not None and "globex" not in limited[1],
              f"acme rate-limited with Retry-After: {limited}")
        status, _, _ = chat(port, GLOBEX)
        check(status == 200, f"globex served while acme is rate-limited: {status}")

        status, _, body = call(port, "POST", "/v1/chat/completions", b"{" + b" " * 70000 + b"}", key=GLOBEX)
        check(status == 413, f"oversized body: {status} {body[:120]}")
        status, _, _ = chat(port, GLOBEX)
        check(status == 200, "served after the oversized body")

        for i in range(4):
            status, _, body = chat(port, GLOBEX, f"g{i}")
            check(status == 200, f"globex session g{i}: {status} {body}")
        held = [call(port, "GET", f"/v1/sessions/g{i}", key=GLOBEX)[0] for i in range(4)]
        check(held == [404, 404, 200, 200], f"globex keeps its 2 newest sessions (max_sessions 2): {held}")
        check(call(port, "GET", "/v1/sessions/conv", key=ACME)[0] == 200, "acme's session untouched")

        _, _, metrics = call(port, "GET", "/metrics")
        tenants = sorted({line.split('tenant="')[1].split('"')[0] for line in metrics.splitlines()
                          if 'tenant="' in line and not line.startswith("#")})
        print("tenant label values in /metrics:", tenants)
        check(set(tenants) <= {"acme", "globex", "unknown"}, f"tenant labels {tenants}")
        from hashlib import sha256
        for key in (ACME, GLOBEX, WRONG):
            for secret in (key, sha256(key.encode()).hexdigest()):
                check(secret not in metrics, "a key (or its digest) in /metrics")
                check(not any(secret in line for line in daemon.log), "a key (or its digest) in the log")
    finally:
        channel.close()
        rc = daemon.stop()
        check(rc == 0, f"exit code {rc}")
        for key in (ACME, GLOBEX, WRONG):
            check(not any(key in line for line in daemon.log), "a key in the log")

if problems:
    sys.exit(1)
print("tenant_isolation_test: ok")
