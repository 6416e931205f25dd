"""The official OpenAI Node SDK (npm `openai`, installed into tests/js by the install script)
against `trimserve serve`: chat completions streaming and not, usage, seed determinism, stop
strings, a 3-turn session with cached_tokens > 0, and errors as the SDK's own classes
(tests/js/openai_sdk_check.mjs does the checking)."""
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
from daemon import Daemon  # noqa: E402

here = os.path.dirname(os.path.abspath(__file__))
script = os.path.join(here, "..", "js", "openai_sdk_check.mjs")
with tempfile.TemporaryDirectory() as tmp:
    daemon = Daemon(tmp)
    try:
        p = subprocess.run(["node", script, f"http://127.0.0.1:{daemon.port}/v1", "tiny"],
                           capture_output=True, text=True, timeout=300)
        print(p.stdout, p.stderr)
    finally:
        rc = daemon.stop()
if p.returncode != 0 or rc != 0:
    print(f"FAILED: sdk checks exit {p.returncode}, daemon exit {rc}")
    sys.exit(1)
print("openai_sdk_test: the official SDK parses every response and error")
