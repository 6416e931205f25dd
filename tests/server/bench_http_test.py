"""`trimserve bench http` against a real `trimserve serve` on a tiny model: the load
generator's bookkeeping is consistent (every request accounted for, ignore_eos gives exactly
max_tokens each, TTFT never after the end), both endpoints work, --out writes both files,
failed requests are counted and reported with exit 1 (a tenant's request limit makes some
fail), and bad targets and flags give one clear line and the documented exit codes.
Correctness only: timings are reported by the benchmark, never asserted here.
"""
import json
import os
import socket
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
from daemon import BIN, DEFAULT_CONFIG, Daemon  # noqa: E402

from checks import check, problems  # noqa: E402


def bench(*args):
    cmd = [BIN, "bench", "http", *args]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    return p.returncode, p.stdout, p.stderr


def check_levels(doc, name, concurrency, requests, max_tokens):
    levels = doc["levels"]
    check([l["concurrency"] for l in levels] == concurrency, f"{name}: levels {levels}")
    for l in levels:
        c = l["concurrency"]
        check(l["requests"] == requests, f"{name} c={c}: requests {l['requests']}")
        check(l["errors"] == 0, f"{name} c={c}: errors {l['errors']} {l['error_messages']}")
        check(l["output_tokens"] == requests * max_tokens,
              f"{name} c={c}: output tokens {l['output_tokens']} != {requests}*{max_tokens}")
        for key in ("wall_s", "requests_per_s", "output_tokens_per_s", "ttft_p50_s",
                    "e2e_p50_s", "prompt_tokens_mean"):
            check(l[key] > 0, f"{name} c={c}: {key} = {l[key]}")
        # Per request TTFT <= e2e, so every order statistic of TTFT is <= e2e's.
        check(l["ttft_p50_s"] <= l["e2e_p50_s"] and l["ttft_p99_s"] <= l["e2e_p99_s"],
              f"{name} c={c}: TTFT after e2e: {l}")
        check(l["e2e_p50_s"] <= l["e2e_p99_s"], f"{name} c={c}: p50 > p99")
        check(max_tokens == 1 or l["itl_mean_s"] > 0, f"{name} c={c}: itl {l['itl_mean_s']}")
    if levels and levels[0]["concurrency"] == 1:
        check(abs(levels[0]["ratio_vs_sequential"] - 1.0) < 1e-9, f"{name}: level 1 ratio")
        check(all(l["ratio_vs_sequential"] > 0 for l in levels), f"{name}: ratios")


with tempfile.TemporaryDirectory() as tmp:
    d = Daemon(tmp)
    target = f"127.0.0.1:{d.port}"
    try:
        # /v1/completions, the model from GET /v1/models, two levels, files under --out.
        out = os.path.join(tmp, "out")
        rc, stdout, stderr = bench("--target", target, "--concurrency", "1,4", "--requests", "6",
                                   "--prompt-tokens", "24", "--max-tokens", "5", "--json",
                                   "--out", out, "--name", "t")
        check(rc == 0, f"completions run exited {rc}: {stderr}")
        doc = json.loads(stdout) if rc == 0 else {"levels": []}
        check(doc.get("model") == "tiny", f"model from /v1/models: {doc.get('model')}")
        check(doc.get("endpoint") == "/v1/completions", f"endpoint {doc.get('endpoint')}")
        check(doc.get("target") == target and doc.get("max_tokens") == 5 and
              doc.get("host_cores", 0) > 0 and doc.get("date"), f"header fields: {doc}")
        check_levels(doc, "completions", [1, 4], 6, 5)
        # The calibration aims the prompts at --prompt-tokens whatever the tokenizer.
        for l in doc["levels"]:
            check(12 <= l["prompt_tokens_mean"] <= 36,
                  f"prompt tokens {l['prompt_tokens_mean']} far from 24")
        check(os.path.exists(f"{out}/t.json") and os.path.exists(f"{out}/t.md"), "--out files")
        if os.path.exists(f"{out}/t.json"):
            with open(f"{out}/t.json") as f:
                check(json.load(f)["levels"] == doc["levels"], "t.json differs from stdout")
            with open(f"{out}/t.md") as f:
                md = f.read()
            check("| concurrency |" in md and md.count("\n| 4 |") == 1, f"t.md table:\n{md}")

        # /v1/chat/completions, explicit model, the default table output.
        rc, stdout, stderr = bench("--target", f"http://{target}/", "--model", "tiny",
                                   "--endpoint", "chat", "--concurrency", "2", "--requests", "3",
                                   "--prompt-tokens", "16", "--max-tokens", "4")
        check(rc == 0, f"chat run exited {rc}: {stderr}")
        check("| concurrency |" in stdout and "\n| 2 | 3 | 0 |" in stdout, f"chat table:\n{stdout}")

        # A model the server does not serve: the first request fails, the run stops (exit 1).
        rc, _, stderr = bench("--target", target, "--model", "nope", "--concurrency", "1",
                              "--requests", "1")
        check(rc == 1 and "HTTP 404" in stderr and len(stderr.strip().splitlines()) == 1,
              f"unknown model: rc {rc}, stderr {stderr!r}")
    finally:
        check(d.stop() == 0, "daemon exit code")

    # Failed measured requests are counted, reported and make the exit code 1, after the
    # results are written: a tenant allowed 5 requests a minute gets 429 for the rest (2
    # calibration probes + 1 warm-up + 6 measured = 9 requests).
    limited = os.path.join(tmp, "limited")
    os.makedirs(limited)
    config = DEFAULT_CONFIG + ("tenants:\n  - name: a\n    api_keys: [sk-a]\n"
                               "    limits: {requests_per_min: 5}\n")
    d = Daemon(limited, config=config)
    try:
        rc, _, stderr = bench("--target", f"127.0.0.1:{d.port}", "--concurrency", "1")
        check(rc == 1 and "HTTP 401" in stderr, f"no key: rc {rc}, stderr {stderr!r}")
        out = os.path.join(limited, "out")
        rc, stdout, stderr = bench("--target", f"127.0.0.1:{d.port}", "--api-key", "sk-a",
                                   "--concurrency", "1", "--requests", "6", "--prompt-tokens", "8",
                                   "--max-tokens", "3", "--out", out)
        check(rc == 1, f"rate-limited run exited {rc}: {stderr}")
        check("HTTP 429" in stderr and "requests failed" in stderr, f"429s reported: {stderr!r}")
        if os.path.exists(f"{out}/http-bench.json"):
            with open(f"{out}/http-bench.json") as f:
                (level,) = json.load(f)["levels"]
            check(level["requests"] == 6 and 0 < level["errors"] < 6,
                  f"errors counted: {level['requests']} requests, {level['errors']} errors")
            check(level["output_tokens"] == (6 - level["errors"]) * 3, f"tokens: {level}")
            check(any("429" in m for m in level["error_messages"]), f"messages: {level}")
        else:
            check(False, "results not written when requests failed")
    finally:
        check(d.stop() == 0, "limited daemon exit code")

# Nothing listens on a port just closed: one line, exit 1.
s = socket.socket()
s.bind(("127.0.0.1", 0))
closed_port = s.getsockname()[1]
s.close()
rc, _, stderr = bench("--target", f"127.0.0.1:{closed_port}", "--concurrency", "1")
check(rc == 1 and "cannot connect" in stderr and len(stderr.strip().splitlines()) == 1,
      f"closed port: rc {rc}, stderr {stderr!r}")

# Usage errors: exit 2, one line naming the problem.
for args, needle in [(["--target", "127.0.0.1:1", "--bogus"], "--bogus"),
                     (["--target", "127.0.0.1:1", "--concurrency", "1,x"], "--concurrency"),
                     (["--target", "127.0.0.1:1", "--concurrency", "0"], "--concurrency"),
                     (["--target", "127.0.0.1:1", "--concurrency", "8", "--requests", "4"],
                      "--requests"),
                     (["--target", "127.0.0.1:1", "--endpoint", "embeddings"], "--endpoint"),
                     (["--target", "localhost"], "--target"),
                     (["--concurrency", "1"], "--target")]:
    rc, _, stderr = bench(*args)
    check(rc == 2 and needle in stderr and len(stderr.strip().splitlines()) == 1,
          f"{args}: rc {rc}, stderr {stderr!r}")
rc, stdout, _ = bench("--help")
check(rc == 0 and "--target HOST:PORT" in stdout, "--help")

if problems:
    print("FAILED:\n  " + "\n  ".join(problems))
    sys.exit(1)
print("bench_http_test: levels consistent on both endpoints; failures counted; usage errors exit 2")
