"""Fault test: clients that go away mid-stream, at random points, over HTTP (the socket closed
after a random number of SSE bytes) and gRPC (the call cancelled after a random number of
chunks) — 500 of each, 8 at a time. Afterwards nothing has leaked: no running or waiting
request, no KV page in use, and greedy output is what it was before.

Env: TRIMSERVE_SRC, TRIMSERVE_BIN, TRIMSERVE_TINY_MODELS.
"""
import json
import os
import random
import socket
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

import grpc

SRC = os.environ.get("TRIMSERVE_SRC", os.getcwd())
sys.path.insert(0, os.path.join(SRC, "tests", "support"))
from checks import check, problems  # noqa: E402
from daemon import DEFAULT_CONFIG, Daemon  # noqa: E402
from daemon_http import greedy_text, idle, metrics  # noqa: E402
import grpc_stubs  # noqa: E402

N = 500
rng = random.Random(7)


def http_disconnect(port, cut):
    body = json.dumps({"model": "tiny", "stream": True, "max_tokens": 200, "ignore_eos": True,
                       "messages": [{"role": "user", "content": "Tell me everything."}]}).encode()
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
              b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
    got = 0
    while got < cut:
        data = s.recv(min(4096, cut - got))
        if not data:
            break
        got += len(data)
    s.close()  # mid-stream, at a random byte (0: before the response starts)


def grpc_cancel(stub, pb, after):
    call = stub.Generate(pb.GenerateRequest(prompt="Tell me everything.", sampling=pb.SamplingParams(
        max_tokens=200, ignore_eos=True)), timeout=60)
    try:
        for _ in range(after):
            next(call)
    except (StopIteration, grpc.RpcError):
        pass
    call.cancel()


with tempfile.TemporaryDirectory() as tmp:
    pb, pbg = grpc_stubs.load(tmp)
    daemon = Daemon(tmp)
    channel = grpc.insecure_channel(daemon.grpc_target)
    stub = pbg.InferenceStub(channel)
    try:
        before = greedy_text(daemon.port)
        cuts = [rng.randint(0, 6000) for _ in range(N)]
        chunks = [rng.randint(0, 40) for _ in range(N)]
        started = time.time()
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda c: http_disconnect(daemon.port, c), cuts))
            list(pool.map(lambda k: grpc_cancel(stub, pb, k), chunks))
        took = time.time() - started
        deadline = time.time() + 30
        while time.time() < deadline and not idle(daemon.port):
            time.sleep(0.1)
        m = metrics(daemon.port)
        running = m.get('vllm:num_requests_running{model_name="tiny"}')
        waiting = m.get('vllm:num_requests_waiting{model_name="tiny"}')
        used = m.get('trimserve_kv_pages{state="used"}')
        print(f"{N} HTTP disconnects + {N} gRPC cancels in {took:.1f} s; afterwards running={running} "
              f"waiting={waiting} pages used={used}")
        check(idle(daemon.port), "requests or pages leaked after the disconnects")
        check(greedy_text(daemon.port) == before, "greedy output changed after the disconnects")
        check(daemon.proc.poll() is None, "the daemon died")
    finally:
        channel.close()
        rc = daemon.stop()
        check(rc == 0, f"daemon exit code {rc}: " + "".join(daemon.log[-8:]))

if problems:
    sys.exit(1)
print("disconnect_fault_test: ok")
