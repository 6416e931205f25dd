"""`trimserve bench sessions` on a tiny model: the benchmark's bookkeeping is consistent and
its drift measurement is right where the answer is known.

With policy full every session keeps its whole cache, so a resumed turn must give the same
distributions as the unlimited full replay (KL ~ 0, same argmax); with trimkv-global in a
pool a tenth of the full-cache size, global pressure must show in the eviction counters and
session files must be written. Timings are reported by the benchmark, never asserted here.
"""
import json
import os
import subprocess
import sys
import tempfile

BIN = os.environ.get("TRIMSERVE_BIN", "build/trimserve")
MODELS = os.environ.get("TRIMSERVE_TINY_MODELS", "build/tiny-models")
problems = []


def bench(out, *extra):
    cmd = [BIN, "bench", "sessions", "--model", f"{MODELS}/gqa2-untied-rg", "--conversations", "4",
           "--turns", "5", "--user-tokens", "24", "--reply-tokens", "4", "--out", out, *extra]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        print(p.stdout, p.stderr)
        sys.exit(f"FAILED: {' '.join(cmd)} exited {p.returncode}")
    print(p.stdout)
    with open(f"{out}/results.json") as f:
        runs = json.load(f)["runs"]
    if not os.path.exists(f"{out}/results.md"):
        problems.append("results.md missing")
    return runs


def check(cond, what):
    if not cond:
        problems.append(what)


with tempfile.TemporaryDirectory() as tmp:
    for r in bench(f"{tmp}/full", "--kv-policy", "full"):
        name = r["name"]
        check(r["turns"] == 20, f"{name}: turns {r['turns']}")
        check(r["memory_hits"] + r["disk_hits"] + r["misses"] == 20 - 4, f"{name}: hit accounting")
        check(0 < r["cached_tokens"] < r["prompt_tokens"], f"{name}: cached tokens")
        check(r["failed_turns"] == 0, f"{name}: failed turns")
        if "unlimited" in name:
            check(r["hit_rate"] == 1.0, f"{name}: every later turn resumes")
            check(r["mean_kl_vs_full"] < 1e-9, f"{name}: KL vs itself {r['mean_kl_vs_full']}")
            check(r["top1_agreement_vs_full"] == 1.0, f"{name}: argmax agreement")
            check(sum(r["evicted_entries"].values()) == 0, f"{name}: nothing evicted")

    runs = bench(f"{tmp}/global", "--kv-policy", "trimkv-global", "--kv-budget", "8")
    unlimited, pressure, files = runs
    check(unlimited["evicted_entries"]["global_pressure"] == 0, "no pressure without a limit")
    check(pressure["pool_fraction"] < 1.0, f"bounded pool: {pressure['pool_fraction']}")
    check(pressure["evicted_entries"]["budget"] > 0, "budget evictions")
    check(files["disk"]["saves"] == 20, f"a session file per turn: {files['disk']}")
    for r in runs:
        check(r["mean_kl_vs_full"] > 0, f"{r['name']}: trimmed caches drift from full")

if problems:
    print("FAILED:\n  " + "\n  ".join(problems))
    sys.exit(1)
print("bench_sessions_test: bookkeeping consistent; full resumes match the full replay")
