"""Weighted fairness across tenants over real HTTP: 64 concurrent streaming chat completions
from three tenants (bronze, silver, gold: weights 1, 2, 3; 21/21/22 requests), with a running
batch of 4 (scheduler.max_running_seqs) so that requests queue and the scheduler's deficit
round robin across tenants decides who runs next.

  Phase A: each of the 64 requests alone (greedy, ignore_eos, fixed max_tokens, streaming).
  Phase B: all 64 at once, one thread each, every content chunk timestamped on arrival. A
           fourth tenant ("warmup") first fills the running batch with long requests, which
           leave (their clients disconnect) once all 64 are queued, so that the scheduler
           starts from a full queue rather than from the order the threads reached the socket.

Checked: every stream ends with [DONE] and usage.completion_tokens == max_tokens; its text
equals phase A's (greedy continuous batching gives the tokens a request gets alone); and while
all three tenants still have requests waiting, the tokens each tenant is served are
proportional to its weight within 20%.

The fairness window. The scheduler charges a request prompt + max_tokens when it admits it
(DRR on tokens), so with requests of one size (prompts of equal token count, same
max_tokens, ignore_eos) admissions follow the weights, and so do tokens served: every running
request gets one token per step. A tenant stops being backlogged when its LAST request is
admitted — from then on the others take its slots — and a streaming request's first chunk
arrives right after its admission (prefill + one step). So the window ends at
T = min over tenants of (the first-chunk time of that tenant's last-admitted request), and a
tenant's tokens in the window are its content chunks that arrived before T, each chunk
counted as (completion tokens / chunks) of its request. The quantum
(scheduler.fairness_quantum_tokens) is set below one request's cost so that admission
interleaves tenants finely (with the default 512, a weight-3 visit would admit a whole burst of
small requests at once and the window would hold a few coarse bursts). With all weights equal
the same measure gives each tenant 1/3, which fails the 1:2:3 check (tried by hand)."""
import http.client
import json
import os
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
from daemon import Daemon  # noqa: E402

TENANTS = [("bronze", 1), ("silver", 2), ("gold", 3)]
WEIGHTS = {name: float(w) for name, w in TENANTS}
NUM_REQUESTS = 64
MAX_TOKENS = 24
MAX_RUNNING = 4
QUANTUM = 8
TOLERANCE = 0.20

CONFIG = ("server:\n  port: 0\n  limits:\n    max_queue: 256\n"
          "model:\n  served_name: tiny\n"
          "kvpool:\n  capacity: {entries: 200000}\n  budget: 16\n  buffer: 4\n"
          "engine:\n  prefill_chunk: 64\n"
          f"scheduler:\n  max_batched_tokens: 256\n  max_running_seqs: {MAX_RUNNING}\n"
          f"  fairness_quantum_tokens: {QUANTUM}\n"
          "tenants:\n" +
          "".join(f"  - name: {name}\n    api_keys: [sk-{name}-test]\n    weight: {WEIGHTS[name]}\n"
                  for name, _ in TENANTS) +
          "  - name: warmup\n    api_keys: [sk-warmup-test]\n")

from checks import check, problems  # noqa: E402


def key(tenant):
    return f"sk-{tenant}-test"


def post(port, path, body, tenant):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    c.request("POST", path, body=json.dumps(body),
              headers={"Content-Type": "application/json", "Authorization": f"Bearer {key(tenant)}"})
    r = c.getresponse()
    payload = r.read()
    c.close()
    return r.status, payload


def stream(port, prompt, tenant, barrier=None, max_tokens=MAX_TOKENS, stop=None):
    """One streaming chat completion. Returns a dict: status, text, chunks [arrival times of
    content chunks], usage, done (saw [DONE]), error. With `stop` (an Event), the client
    closes the connection once it is set (the daemon cancels the request)."""
    body = json.dumps({"model": "tiny", "messages": [{"role": "user", "content": prompt}],
                       "temperature": 0, "max_tokens": max_tokens, "ignore_eos": True,
                       "stream": True, "stream_options": {"include_usage": True}})
    out = {"status": None, "text": "", "chunks": [], "usage": None, "done": False, "error": None}
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        c.connect()
        if barrier is not None:
            barrier.wait()
        c.request("POST", "/v1/chat/completions", body=body,
                  headers={"Content-Type": "application/json", "Authorization": f"Bearer {key(tenant)}"})
        r = c.getresponse()
        out["status"] = r.status
        if r.status != 200:
            out["error"] = r.read()[:300]
            return out
        while stop is None or not stop.is_set():
            line = r.readline()
            if not line:
                break
            line = line.strip()
            if not line.startswith(b"data: "):
                continue
            data = line[len(b"data: "):]
            if data == b"[DONE]":
                out["done"] = True
                continue
            event = json.loads(data)
            if event.get("usage"):
                out["usage"] = event["usage"]
            for choice in event.get("choices", []):
                piece = choice.get("delta", {}).get("content")
                if piece:
                    out["text"] += piece
                    out["chunks"].append(time.monotonic())
    except Exception as e:  # noqa: BLE001 - reported as a failure of this request
        out["error"] = repr(e)
    finally:
        c.close()
    return out


def scrape(port):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    c.request("GET", "/metrics")
    r = c.getresponse()
    text = r.read().decode()
    c.close()
    return r.status, text


def scrape_gauge(port, name):
    for line in scrape(port)[1].splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            return float(line.rsplit(" ", 1)[1])
    return -1.0


def metrics_tokens(text):
    """trimserve_tokens_total{tenant=...,kind="generation"} per tenant from a /metrics scrape."""
    found = {}
    for line in text.splitlines():
        if line.startswith("trimserve_tokens_total{") and 'kind="generation"' in line:
            labels, value = line.rsplit(" ", 1)
            tenant = labels.split('tenant="', 1)[1].split('"', 1)[0]
            found[tenant] = float(value)
    return found


started = time.time()
with tempfile.TemporaryDirectory() as tmp:
    daemon = Daemon(tmp, config=CONFIG)
    port = daemon.port
    try:
        # Auth: a tenant key is required now.
        status, _ = post(port, "/v1/chat/completions",
                         {"model": "tiny", "messages": [{"role": "user", "content": "x"}]}, "nobody")
        check(status == 401, f"unknown key: {status}")

        # 64 distinct prompts of one token count (so every request costs the same).
        by_len = {}
        for i in range(400):
            prompt = f"Request {i} from the fairness test: tell me a story."
            status, payload = post(port, "/tokenize",
                                   {"model": "tiny", "messages": [{"role": "user", "content": prompt}]},
                                   "bronze")
            by_len.setdefault(json.loads(payload)["count"], []).append(prompt)
            if max(len(v) for v in by_len.values()) >= NUM_REQUESTS:
                break
        prompt_tokens, prompts = max(by_len.items(), key=lambda kv: len(kv[1]))
        check(len(prompts) >= NUM_REQUESTS, f"only {len(prompts)} prompts of one length")
        prompts = prompts[:NUM_REQUESTS]
        # Interleaved: gold, silver, bronze, gold, ... (22/21/21).
        tenant_of = [TENANTS[2 - i % 3][0] for i in range(NUM_REQUESTS)]
        counts = {name: tenant_of.count(name) for name, _ in TENANTS}
        print(f"{NUM_REQUESTS} requests of {prompt_tokens} prompt + {MAX_TOKENS} completion tokens; "
              f"per tenant {counts}; weights {WEIGHTS}; running batch {MAX_RUNNING}, "
              f"quantum {QUANTUM} tokens")

        # Phase A: one at a time.
        t0 = time.time()
        reference = []
        for i in range(NUM_REQUESTS):
            res = stream(port, prompts[i], tenant_of[i])
            ok = res["status"] == 200 and res["done"] and res["usage"] and \
                res["usage"]["completion_tokens"] == MAX_TOKENS
            check(ok, f"phase A request {i}: {res['status']} done={res['done']} usage={res['usage']} "
                      f"error={res['error']}")
            reference.append(res["text"])
        phase_a_s = time.time() - t0

        # Phase B. So that the scheduler, not the order in which 64 threads happen to reach the
        # socket, picks who runs first: a fourth tenant's long requests hold all running slots
        # until every one of the 64 is queued (vllm:num_requests_waiting == 64), then leave
        # (their clients disconnect) and the scheduler fills the slots from a full queue.
        release = threading.Event()
        blockers = [None] * MAX_RUNNING

        def blocker(i):
            blockers[i] = stream(port, f"hold the slot {i}", "warmup", max_tokens=2000, stop=release)

        blocker_threads = [threading.Thread(target=blocker, args=(i,)) for i in range(MAX_RUNNING)]
        for t in blocker_threads:
            t.start()
        deadline = time.time() + 20
        while time.time() < deadline and scrape_gauge(port, "vllm:num_requests_running") < MAX_RUNNING:
            time.sleep(0.01)

        results = [None] * NUM_REQUESTS
        barrier = threading.Barrier(NUM_REQUESTS)

        def client(i):
            results[i] = stream(port, prompts[i], tenant_of[i], barrier)

        threads = [threading.Thread(target=client, args=(i,)) for i in range(NUM_REQUESTS)]
        t0 = time.time()
        for t in threads:
            t.start()
        queued = 0
        while time.time() < deadline and queued < NUM_REQUESTS:
            queued = scrape_gauge(port, "vllm:num_requests_waiting")
            time.sleep(0.005)
        held = all(b is None for b in blockers)  # no blocker ended before the release
        release.set()
        window_start = time.monotonic()
        for t in blocker_threads + threads:
            t.join()
        phase_b_s = time.time() - t0
        check(queued == NUM_REQUESTS and held,
              f"the 64 requests were not all queued behind the blockers: waiting {queued}, "
              f"blockers held: {held}")

        mismatched = 0
        for i, res in enumerate(results):
            ok = res["status"] == 200 and res["done"] and res["usage"] is not None and \
                res["usage"]["completion_tokens"] == MAX_TOKENS and res["chunks"]
            check(ok, f"phase B request {i} ({tenant_of[i]}): {res['status']} done={res['done']} "
                      f"usage={res['usage']} error={res['error']}")
            if res["text"] != reference[i]:
                mismatched += 1
                check(False, f"phase B request {i}: text {res['text']!r} != alone {reference[i]!r}")
        if problems:
            raise SystemExit

        # The window: until the first tenant's last request is admitted (its first chunk).
        last_admitted = {name: max(results[i]["chunks"][0] for i in range(NUM_REQUESTS)
                                   if tenant_of[i] == name) for name, _ in TENANTS}
        first_out = min(last_admitted, key=last_admitted.get)
        window_end = last_admitted[first_out]
        tokens = {name: 0.0 for name, _ in TENANTS}
        admitted = {name: 0 for name, _ in TENANTS}
        for i, res in enumerate(results):
            per_chunk = res["usage"]["completion_tokens"] / len(res["chunks"])
            tokens[tenant_of[i]] += per_chunk * sum(1 for t in res["chunks"] if t < window_end)
            admitted[tenant_of[i]] += res["chunks"][0] <= window_end
        total = sum(tokens.values())
        weight_sum = sum(w for w in WEIGHTS.values())
        print(f"phase A (one at a time) {phase_a_s:.1f} s, phase B (64 at once) {phase_b_s:.1f} s; "
              f"texts equal: {NUM_REQUESTS - mismatched}/{NUM_REQUESTS}")
        print(f"window: {window_end - window_start:.2f} s until {first_out}'s last request started")
        print(f"{'tenant':<8} {'weight':>6} {'admitted':>8} {'tokens':>8} {'share':>6} {'expected':>8} {'ratio':>6}")
        for name, _ in TENANTS:
            share = tokens[name] / total if total else 0.0
            expected = WEIGHTS[name] / weight_sum
            ratio = share / expected
            print(f"{name:<8} {WEIGHTS[name]:>6g} {admitted[name]:>8} {tokens[name]:>8.1f} "
                  f"{share:>6.3f} {expected:>8.3f} {ratio:>6.2f}")
            check(1 - TOLERANCE <= ratio <= 1 + TOLERANCE,
                  f"{name}: token share {share:.3f} in the window, weight share {expected:.3f} "
                  f"(ratio {ratio:.2f}, allowed {1 - TOLERANCE:.1f}..{1 + TOLERANCE:.1f})")

        # /metrics is served without a key (Prometheus scrapes it); per-tenant token counters.
        status, text = scrape(port)
        check(status == 200, f"/metrics {status}")
        generated = metrics_tokens(text)
        print("trimserve_tokens_total{kind=generation} per tenant:", generated)
        for name, _ in TENANTS:
            # Phase A and phase B: 2 * requests * MAX_TOKENS (the 401 never reached a tenant).
            want = 2 * counts[name] * MAX_TOKENS
            check(generated.get(name) == want, f"/metrics generation tokens of {name}: "
                                               f"{generated.get(name)}, expected {want}")
        # The blockers were cancelled (their clients left) after streaming tokens; each chunk
        # carries at least one token.
        streamed = sum(len(b["chunks"]) for b in blockers if b)
        ended = [l for l in text.splitlines() if l.startswith('trimserve_requests_total{tenant="warmup"')]
        print(f"warmup (cancelled blockers): >= {streamed} tokens streamed to the clients; "
              f"/metrics generation tokens {generated.get('warmup')}; {ended}")
        # A request that ends because its client left still counts its prompt and the tokens
        # it generated.
        check(generated.get("warmup", 0) >= streamed,
              f"cancelled requests' tokens not counted: {generated.get('warmup')} < {streamed}")
    except SystemExit:
        pass
    finally:
        rc = daemon.stop()
    check(rc == 0, f"exit code after SIGTERM: {rc}")

print(f"fairness_test ran {time.time() - started:.1f} s")
if problems:
    print("FAILED:\n  " + "\n  ".join(problems[:20]))
    sys.exit(1)
print("fairness_test: 64 concurrent streams complete, equal alone, tenants served 1:2:3 within 20%")
