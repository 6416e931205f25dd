"""The official OpenAI Node SDK (npm `openai`, installed into tests/js by the install script)
against `trimserve serve`: chat completions streaming and not, usage, seed determinism, stop
strings, a 3-turn session with cached_tokens > 0, and errors as the SDK's own classes
(tests/js/openai_sdk_check.mjs); then, against a daemon with tenants, AuthenticationError,
PermissionDeniedError and RateLimitError with Retry-After (tests/js/openai_sdk_auth_check.mjs)."""
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
from daemon import DEFAULT_CONFIG, Daemon  # noqa: E402

TENANTS = """tenants:
  - name: acme
    api_keys: [sk-acme]
    allowed_models: [tiny]
    limits: {requests_per_min: 3}
  - name: globex
    api_keys: [sk-globex]
    allowed_models: [elsewhere]
"""

here = os.path.dirname(os.path.abspath(__file__))
failed = []
for script, config in [("openai_sdk_check.mjs", DEFAULT_CONFIG),
                       ("openai_sdk_auth_check.mjs", DEFAULT_CONFIG + TENANTS)]:
    with tempfile.TemporaryDirectory() as tmp:
        daemon = Daemon(tmp, config=config)
        try:
            p = subprocess.run(["node", os.path.join(here, "..", "js", script),
                                f"http://127.0.0.1:{daemon.port}/v1", "tiny"],
                               capture_output=True, text=True, timeout=300)
            print(p.stdout, p.stderr)
        finally:
            rc = daemon.stop()
    if p.returncode != 0 or rc != 0:
        failed.append(f"{script}: sdk checks exit {p.returncode}, daemon exit {rc}")
if failed:
    print("FAILED:\n  " + "\n  ".join(failed))
    sys.exit(1)
print("openai_sdk_test: the official SDK parses every response and error")
