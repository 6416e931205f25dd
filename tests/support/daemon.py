"""Starts `trimserve serve` for an integration test: loopback, HTTP and gRPC on free ports (a
config written to a temporary directory, --grpc-port 0), the bound ports read from the
`listening http=HOST:PORT grpc=HOST:PORT` log line.
Used by tests/server/*_test.py (never at serving time)."""
import os
import re
import signal
import subprocess
import sys
import threading
import time

BIN = os.environ.get("TRIMSERVE_BIN", "build/trimserve")
MODELS = os.environ.get("TRIMSERVE_TINY_MODELS", "build/tiny-models")
# Set by tests/sanitizers.sh, which runs the whole suite from an ASan/UBSan build: the daemon
# is several times slower there, so tests that size their work to outlast an event (a drain,
# a signal) use less of it.
SANITIZED = os.environ.get("TRIMSERVE_SANITIZED") == "1"

DEFAULT_CONFIG = ("server:\n  port: 0\n  limits:\n    max_body_bytes: 65536\n"
                  "model:\n  served_name: tiny\n"
                  "kvpool:\n  capacity: {entries: 200000}\n  budget: 16\n  buffer: 4\n"
                  "engine:\n  prefill_chunk: 64\n"
                  "scheduler:\n  max_batched_tokens: 256\n")


class Daemon:
    def __init__(self, tmp, model="gqa2-untied-rg", config=DEFAULT_CONFIG, argv=None, cwd=None):
        """Starts `trimserve serve` on `config` (written to tmp/trimserve.yaml) and `model`, or,
        with `argv`, exactly that command line (in `cwd`); returns once it listens."""
        self.log = []
        if argv is None:
            cfg = os.path.join(tmp, "trimserve.yaml")
            with open(cfg, "w") as f:
                f.write(config)
            # model=None: no --model, so the daemon serves the embedded default model.
            model_args = [] if model is None else ["--model", f"{MODELS}/{model}"]
            argv = [BIN, "serve", "--config", cfg, "--grpc-port", "0"] + model_args
        self.proc = subprocess.Popen(argv, cwd=cwd, stderr=subprocess.PIPE, text=True)
        deadline = time.time() + 30
        while time.time() < deadline:
            line = self.proc.stderr.readline()
            if not line:
                break
            self.log.append(line)
            m = re.search(r"listening http=([\d.]+):(\d+) grpc=([\d.]+):(\d+)", line)
            if m:
                self.port = int(m.group(2))
                self.grpc_target = f"{m.group(3)}:{m.group(4)}"
                threading.Thread(target=self._drain_log, daemon=True).start()
                return
        self.proc.kill()
        sys.exit("FAILED: the daemon did not report its port:\n" + "".join(self.log))

    def _drain_log(self):
        for line in self.proc.stderr:
            self.log.append(line)

    def stop(self):
        """SIGTERM; returns the exit code (or 'timeout')."""
        return terminate(self.proc, 30)


def terminate(proc, timeout):
    """SIGTERM, then up to `timeout` s for the exit code; past it SIGKILL and 'timeout'."""
    proc.send_signal(signal.SIGTERM)
    return wait_exit(proc, timeout)


def wait_exit(proc, timeout):
    """Up to `timeout` s for the exit code of `proc`, already told to stop; past it SIGKILL and
    'timeout'."""
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        return "timeout"
