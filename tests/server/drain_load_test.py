"""SIGTERM under load: 8 HTTP SSE streams and 8 gRPC streams are running when the daemon gets
SIGTERM. While it drains, new calls are refused — HTTP 503 with Retry-After (a new connection
still gets that answer), gRPC UNAVAILABLE, /ready 503, gRPC health NOT_SERVING — and every
stream in flight runs to its end with the tokens it would have had alone (greedy); then the
daemon exits 0 well within server.drain_timeout_s.

Env: TRIMSERVE_SRC, TRIMSERVE_BIN, TRIMSERVE_TINY_MODELS.
"""
import http.client
import json
import os
import signal
import sys
import tempfile
import threading
import time

import grpc

SRC = os.environ.get("TRIMSERVE_SRC", os.getcwd())
sys.path.insert(0, os.path.join(SRC, "tests", "support"))
import grpc_stubs  # noqa: E402
from checks import check, problems  # noqa: E402
from daemon import DEFAULT_CONFIG, SANITIZED, Daemon  # noqa: E402
from daemon_http import greedy_text, sse_events, status_of  # noqa: E402

STREAMS = 8
TOKENS = 48 if SANITIZED else 160  # streams last ~5-30 s either way
PROMPT = "The Congress"


def http_stream(port, out, started):
    body = {"model": "tiny", "prompt": PROMPT, "max_tokens": TOKENS, "temperature": 0,
            "ignore_eos": True, "stream": True}
    text, finish, done = "", None, False
    try:
        for e in sse_events(port, "/v1/completions", body):
            if e == "[DONE]":
                done = True
                continue
            choice = e["choices"][0]
            text += choice.get("text", "")
            finish = choice.get("finish_reason") or finish
            started.release()
    except Exception as e:  # noqa: BLE001 — recorded, checked below
        out.append(("http", None, repr(e), False))
        return
    out.append(("http", text, finish, done))


def grpc_stream(stub, pb, out, started):
    text, finish = "", None
    try:
        for c in stub.Generate(pb.GenerateRequest(prompt=PROMPT, sampling=pb.SamplingParams(
                max_tokens=TOKENS, temperature=0, ignore_eos=True)), timeout=120):
            text += c.text
            finish = c.finish_reason or finish
            started.release()
    except grpc.RpcError as e:
        out.append(("grpc", None, f"{e.code()}: {e.details()}", False))
        return
    out.append(("grpc", text, finish, True))


with tempfile.TemporaryDirectory() as tmp:
    pb, pbg = grpc_stubs.load(tmp)
    daemon = Daemon(tmp, model="large",
                    config=DEFAULT_CONFIG.replace("server:\n", "server:\n  drain_timeout_s: 60\n", 1))
    channel = grpc.insecure_channel(daemon.grpc_target)
    stub = pbg.InferenceStub(channel)
    try:
        alone = greedy_text(daemon.port, PROMPT, TOKENS)
        out, started = [], threading.Semaphore(0)
        threads = [threading.Thread(target=http_stream, args=(daemon.port, out, started)) for _ in range(STREAMS)]
        threads += [threading.Thread(target=grpc_stream, args=(stub, pb, out, started)) for _ in range(STREAMS)]
        for t in threads:
            t.start()
        for _ in range(2 * STREAMS):  # every stream has its first token
            check(started.acquire(timeout=60), "a stream did not start")
        signalled = time.time()
        daemon.proc.send_signal(signal.SIGTERM)
        time.sleep(0.3)

        c = http.client.HTTPConnection("127.0.0.1", daemon.port, timeout=10)  # a new connection
        c.request("POST", "/v1/completions", body=json.dumps({"model": "tiny", "prompt": "x"}),
                  headers={"Content-Type": "application/json"})
        r = c.getresponse()
        body = r.read().decode()
        check(r.status == 503 and r.getheader("Retry-After") is not None and "shutting down" in body,
              f"a new HTTP call while draining: {r.status} {r.getheader('Retry-After')} {body}")
        print(f"new HTTP call while draining: {r.status}, Retry-After {r.getheader('Retry-After')}, {body}")
        check(status_of(daemon.port, "/ready") == 503, "/ready while draining")
        try:
            list(stub.Generate(pb.GenerateRequest(prompt="x"), timeout=10))
            check(False, "a new gRPC call was served while draining")
        except grpc.RpcError as e:
            check(e.code() == grpc.StatusCode.UNAVAILABLE, f"a new gRPC call while draining: {e.code()}")
            print(f"new gRPC call while draining: {e.code().name}: {e.details()}")
        check(grpc_stubs.health(channel) == "NOT_SERVING", "gRPC health while draining")
        still_running = sum(t.is_alive() for t in threads)
        print(f"streams still running after the refusals: {still_running} of {len(threads)}")

        for t in threads:
            t.join(120)
        for kind, text, finish, done in out:
            check(text == alone and finish == "length" and done,
                  f"{kind} stream: finish {finish}, done {done}, text equal to alone: {text == alone}")
        check(len(out) == 2 * STREAMS, f"{len(out)} streams reported")
        rc = daemon.proc.wait(timeout=90)
        took = time.time() - signalled
        check(rc == 0, f"exit code {rc}")
        print(f"{len(out)} streams completed while draining; exit {rc} {took:.1f} s after SIGTERM")
    finally:
        channel.close()
        if daemon.proc.poll() is None:
            daemon.stop()
        if problems:
            print("".join(daemon.log[-20:]))

if problems:
    sys.exit(1)
print("drain_load_test: ok")
