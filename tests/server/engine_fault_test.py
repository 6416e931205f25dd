"""Fault test: an engine step fails (the daemon's test hook, TRIMSERVE_FAULT_INJECTION_FILE:
the next step fails when the file appears), under both settings of engine.on_step_error.

recover: an HTTP stream and a gRPC stream running in the failing step both end with the
  engine's error (an SSE error event; gRPC INTERNAL); GET /ready answers 503 (and gRPC health
  NOT_SERVING) while /health stays 200, and both are ready again after
  engine.step_error_unready_s; no request or KV page is left behind and greedy output is
  unchanged; SIGTERM then exits 0.
exit: the stream in the failing step gets the error, then the daemon drains and exits 1 on
  its own, saying why in its log.
Nothing may hang: every wait is bounded.

Env: TRIMSERVE_SRC, TRIMSERVE_BIN, TRIMSERVE_TINY_MODELS.
"""
import os
import sys
import tempfile
import threading

import grpc

SRC = os.environ.get("TRIMSERVE_SRC", os.getcwd())
sys.path.insert(0, os.path.join(SRC, "tests", "support"))
import grpc_stubs  # noqa: E402
from checks import check, problems, wait_for  # noqa: E402
from daemon import DEFAULT_CONFIG, Daemon  # noqa: E402
from daemon_http import greedy_text, idle, metrics, sse_events, status_of  # noqa: E402

LONG = {"model": "tiny", "stream": True, "max_tokens": 400, "ignore_eos": True,
        "messages": [{"role": "user", "content": "Tell me everything."}]}


def config(action):
    return DEFAULT_CONFIG.replace(
        "engine:\n", f"engine:\n  on_step_error: {action}\n  step_error_unready_s: 8\n", 1)


class HttpStream(threading.Thread):
    """Reads a long chat stream; `started` once the first token arrived."""

    def __init__(self, port):
        super().__init__(daemon=True)
        self.port, self.started, self.events, self.error = port, threading.Event(), [], None

    def run(self):
        try:
            for e in sse_events(self.port, "/v1/chat/completions", LONG):
                self.events.append(e)
                self.started.set()
        except Exception as e:  # noqa: BLE001 — recorded and checked by the test
            self.error = e
        self.started.set()

    def error_event(self):
        return next((e for e in self.events if isinstance(e, dict) and "error" in e), None)


class GrpcStream(threading.Thread):
    def __init__(self, stub, pb):
        super().__init__(daemon=True)
        self.stub, self.pb, self.started, self.chunks, self.code, self.details = stub, pb, threading.Event(), 0, None, ""

    def run(self):
        try:
            for _ in self.stub.Generate(self.pb.GenerateRequest(prompt="Tell me everything.",
                                        sampling=self.pb.SamplingParams(max_tokens=400, ignore_eos=True)),
                                        timeout=120):
                self.chunks += 1
                self.started.set()
        except grpc.RpcError as e:
            self.code, self.details = e.code(), e.details()
        self.started.set()


def inject(tmp):
    path = os.path.join(tmp, "fault")
    with open(path + ".tmp", "w") as f:
        f.write("1")
    os.replace(path + ".tmp", path)  # appears whole: the engine never reads a torn count


with tempfile.TemporaryDirectory() as tmp:
    os.environ["TRIMSERVE_FAULT_INJECTION_FILE"] = os.path.join(tmp, "fault")
    pb, pbg = grpc_stubs.load(tmp)

    # ---- recover
    daemon = Daemon(tmp, config=config("recover"))
    channel = grpc.insecure_channel(daemon.grpc_target)
    try:
        check(any("fault injection armed" in l for l in daemon.log), "the test hook is announced")
        before = greedy_text(daemon.port)
        h, g = HttpStream(daemon.port), GrpcStream(pbg.InferenceStub(channel), pb)
        h.start()
        g.start()
        check(h.started.wait(60) and g.started.wait(60), "both streams started")
        inject(tmp)
        h.join(60)
        g.join(60)
        check(not h.is_alive() and not g.is_alive(), "the streams ended")
        err = h.error_event()
        check(err is not None and "engine step failed" in err["error"]["message"],
              f"HTTP stream error event: {err} (stream error {h.error!r})")
        check(g.code == grpc.StatusCode.INTERNAL and "engine step failed" in g.details,
              f"gRPC stream: {g.code} {g.details!r} after {g.chunks} chunks")
        ready_after_fault = status_of(daemon.port, "/ready")
        check(ready_after_fault == 503, f"/ready right after the failed step: {ready_after_fault}")
        check(wait_for(lambda: grpc_stubs.health(channel) == "NOT_SERVING", 2),
              "gRPC health follows /ready: NOT_SERVING after the failed step")
        check(status_of(daemon.port, "/health") == 200, "/health stays 200")
        check(metrics(daemon.port).get("trimserve_engine_healthy") == 0, "trimserve_engine_healthy 0 after the failed step")
        came_back = wait_for(lambda: status_of(daemon.port, "/ready") == 200, 20)
        check(came_back, "/ready is 200 again after step_error_unready_s")
        # Still idle (no step has run since the failure): the gauge follows /ready all the same.
        check(metrics(daemon.port).get("trimserve_engine_healthy") == 1, "trimserve_engine_healthy 1 again while idle")
        check(wait_for(lambda: grpc_stubs.health(channel) == "SERVING", 2), "gRPC health SERVING again")
        check(wait_for(lambda: idle(daemon.port), 10), "requests or KV pages left after the fault")
        check(greedy_text(daemon.port) == before, "greedy output changed after the fault")
        print(f"recover: HTTP got {len(h.events)} events, the last {h.events[-1] if h.events else None}; "
              f"gRPC {g.code} after {g.chunks} chunks; /ready {ready_after_fault} then 200")
    finally:
        channel.close()
        rc = daemon.stop()
        check(rc == 0, f"recover: exit code {rc}")
        if problems:
            print("".join(daemon.log[-20:]))

    # ---- exit
    daemon = Daemon(tmp, config=config("exit"))
    try:
        h = HttpStream(daemon.port)
        h.start()
        check(h.started.wait(60), "stream started")
        inject(tmp)
        h.join(60)
        err = h.error_event()
        check(err is not None and "engine step failed" in err["error"]["message"],
              f"exit: HTTP stream error event: {err} (stream error {h.error!r})")
        try:
            rc = daemon.proc.wait(timeout=30)
        except Exception:  # noqa: BLE001
            rc = "still running"
        check(rc == 1, f"exit: the daemon's exit code {rc}")
        check(any("exiting (engine.on_step_error: exit)" in l for l in daemon.log),
              "exit: the log says why")
        print(f"exit: stream error {err['error']['message'] if err else None!r}; exit code {rc}")
    finally:
        if daemon.proc.poll() is None:
            daemon.stop()
        if problems:
            print("".join(daemon.log[-20:]))

if problems:
    sys.exit(1)
print("engine_fault_test: ok")
