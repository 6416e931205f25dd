"""The monitoring files in deploy/ against a real daemon and a real Prometheus (Debian's
/usr/bin/prometheus and /usr/bin/promtool), all on loopback:

- promtool: deploy/prometheus/rules.yml passes `check rules` and its unit tests
  (`test rules deploy/prometheus/rules_test.yml`); deploy/prometheus/prometheus.yml and the
  config this test derives from it (1 s scrapes of the test's daemon) pass `check config`;
- static shape: every alert's expr is `<expression> <op> <number>`; the dashboard
  (deploy/grafana/trimserve.json) is plain dashboard JSON (id null, uid "trimserve") whose
  every panel and target uses the `datasource` variable, every target has expr, refId and
  legendFormat, and the instance / tenant variables are multi-value with All = `.*`;
- live: a daemon with two tenants (acme rate-limited to 6 requests a minute), session files
  in a temporary kvpool.sessions.dir and a 64-page KV pool serves completions, multi-turn
  session chats (session_id field and X-Session-Id header), streams, session deletes, bad
  requests (400, 401, 404; a body over max_body_bytes, 413 from the transport), rate-limited
  requests (429), streams whose client hangs up (499)
  and two failed engine steps (the daemon's test hook TRIMSERVE_FAULT_INJECTION_FILE, with
  engine.on_step_error: recover): one fails a request before its first token (500), one a
  stream after it (an error event) — while Prometheus scrapes it every second and evaluates
  rules.yml; then every PromQL expression of the dashboard
  (panel targets, with $__rate_interval = 30s and $instance / $tenant = .*; its label_values
  variables through /api/v1/label/<name>/values) and of rules.yml (recording rules; alerts'
  left-hand sides, and their full expr must evaluate too) returns at least one series with a
  value that is not NaN, every rule evaluates without error, and a table of them is printed;
- Prometheus and the daemon stop on SIGTERM, the daemon with exit code 0.

Env: TRIMSERVE_SRC, TRIMSERVE_BIN, TRIMSERVE_TINY_MODELS.
"""
import collections
import http.client
import json
import math
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.parse

import yaml

SRC = os.environ.get("TRIMSERVE_SRC", os.getcwd())
sys.path.insert(0, os.path.join(SRC, "tests", "support"))
from checks import check, problems  # noqa: E402
from daemon import Daemon, terminate  # noqa: E402
from daemon_http import call, metrics  # noqa: E402

PROMETHEUS, PROMTOOL = "/usr/bin/prometheus", "/usr/bin/promtool"
RULES = os.path.join(SRC, "deploy", "prometheus", "rules.yml")
RULES_TEST = os.path.join(SRC, "deploy", "prometheus", "rules_test.yml")
PROM_CONFIG = os.path.join(SRC, "deploy", "prometheus", "prometheus.yml")
DASHBOARD = os.path.join(SRC, "deploy", "grafana", "trimserve.json")
DS = {"type": "prometheus", "uid": "${datasource}"}
RATE_INTERVAL = "30s"  # what Grafana's $__rate_interval stands for in the queries below
ACME, GLOBEX = "sk-acme-5d1e", "sk-globex-9a77"
FAULT_FILE = None  # set below: the daemon's engine fails a step when this file appears
# What the traffic gets (statuses, and what became of streams and engine faults), all of it.
EXPECTED = (200, 400, 401, 404, 413, 429, "DELETE 200", "stream done", "hung up", "engine fault: 500",
            "engine fault in stream: 200 error event")
# Alarm clock for the whole test: children are killed and the test fails past it.
TIME_LIMIT_S = 80

CONFIG = """server:
  port: 0
  limits:
    max_body_bytes: 65536
model:
  served_name: tiny
kvpool:
  capacity: {{entries: 1024}}
  budget: 16
  buffer: 4
  sessions: {{dir: {sessions}, ttl_s: 600}}
engine:
  prefill_chunk: 64
  threads: 1
  on_step_error: recover
  step_error_unready_s: 1
scheduler:
  max_batched_tokens: 256
tenants:
  - name: acme
    api_keys: [{acme}]
    limits: {{requests_per_min: 6}}
  - name: globex
    api_keys: [{globex}]
"""


class Alarm(Exception):
    """The test ran past TIME_LIMIT_S."""


def on_alarm(signum, frame):
    raise Alarm(f"the test ran past {TIME_LIMIT_S} s")


def run(cmd):
    r = subprocess.run(cmd, cwd=SRC, capture_output=True, text=True, timeout=60)
    out = (r.stdout + r.stderr).strip()
    check(r.returncode == 0, f"{' '.join(cmd)} exited {r.returncode}:\n{out}")
    print(f"$ {' '.join(os.path.relpath(c, SRC) if c.startswith(SRC) else c for c in cmd)}: "
          f"{'ok' if r.returncode == 0 else 'FAILED'}")
    return out


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ------------------------------------------------------------------ expressions to check
ALERT_EXPR = re.compile(r"^(?P<lhs>.*?)\s*(?P<op>==|!=|>=|<=|>|<)\s*(?P<num>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)$",
                        re.DOTALL)


def rule_expressions():
    """[(source, expr to evaluate, full alert expr or None)] of rules.yml."""
    with open(RULES) as f:
        groups = yaml.safe_load(f)["groups"]
    out = []
    for g in groups:
        for r in g["rules"]:
            expr = " ".join(r["expr"].split())
            if "record" in r:
                out.append((f"record {r['record']}", expr, None))
                continue
            m = ALERT_EXPR.match(expr)
            if check(m is not None, f"alert {r['alert']}: expr is not '<expression> <op> <number>': {expr}"):
                out.append((f"alert {r['alert']} ({m['op']} {m['num']})", m["lhs"], expr))
            check("for" in r and r.get("labels", {}).get("severity"), f"alert {r['alert']}: no for: or severity")
            ann = r.get("annotations", {})
            check(ann.get("summary") and ann.get("description") and "$labels.instance" in ann["summary"],
                  f"alert {r['alert']}: annotations {ann}")
    return out


def dashboard_expressions():
    """([(panel title, expr)], [(variable, label_values query)]) of the dashboard, after the
    shape checks."""
    with open(DASHBOARD) as f:
        d = json.load(f)
    check("dashboard" not in d and d.get("id", 0) is None and d.get("uid") == "trimserve"
          and d.get("title") == "trimserve", "dashboard: not plain JSON with id null, uid/title trimserve")
    variables = {v["name"]: v for v in d["templating"]["list"]}
    ds = variables.get("datasource", {})
    check(ds.get("type") == "datasource" and ds.get("query") == "prometheus", f"datasource variable {ds}")
    queries, label_queries = [], []
    for name in ("instance", "tenant"):
        v = variables.get(name, {})
        check(v.get("type") == "query" and v.get("multi") and v.get("includeAll") and v.get("allValue") == ".*"
              and v.get("datasource") == DS, f"variable {name}: {v}")
        q = v.get("query", "")
        label_queries.append((f"variable {name}", q["query"] if isinstance(q, dict) else q))

    def walk(panels):
        for p in panels:
            yield p
            yield from walk(p.get("panels", []))

    for p in walk(d["panels"]):
        if p["type"] == "row":
            continue
        title = p.get("title", "?")
        check(p.get("datasource") == DS, f"panel {title!r}: datasource {p.get('datasource')}")
        check(p.get("targets"), f"panel {title!r}: no targets")
        for t in p.get("targets", []):
            check(t.get("expr") and t.get("refId") and "legendFormat" in t and t.get("datasource") == DS,
                  f"panel {title!r} target {t.get('refId')}: {t}")
            if t.get("expr"):
                queries.append((f"{title} [{t.get('refId')}]", t["expr"]))
    return queries, label_queries


def grafana_to_promql(expr):
    out = expr.replace("$__rate_interval", RATE_INTERVAL)
    for var in ("instance", "tenant"):
        out = out.replace("${" + var + "}", ".*").replace("$" + var, ".*")
    check("$" not in out, f"a Grafana variable left in {out}")
    return " ".join(out.split())


# ------------------------------------------------------------------ Prometheus
class Prometheus:
    def __init__(self, tmp, daemon_port):
        with open(PROM_CONFIG) as f:
            cfg = yaml.safe_load(f)
        cfg["global"].update({"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"})
        cfg["rule_files"] = [RULES]
        jobs = [j for j in cfg["scrape_configs"] if j["job_name"] == "trimserve"]
        check(len(jobs) == 1, "deploy/prometheus/prometheus.yml: no job 'trimserve'")
        jobs[0]["static_configs"] = [{"targets": [f"127.0.0.1:{daemon_port}"]}]
        self.config = os.path.join(tmp, "prometheus.yml")
        with open(self.config, "w") as f:
            yaml.safe_dump(cfg, f)
        run([PROMTOOL, "check", "config", self.config])
        self.port = free_port()
        self.log_path = os.path.join(tmp, "prometheus.log")
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            [PROMETHEUS, f"--config.file={self.config}", f"--storage.tsdb.path={os.path.join(tmp, 'tsdb')}",
             f"--web.listen-address=127.0.0.1:{self.port}", "--log.level=warn"],
            stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 20
        while time.time() < deadline and self.proc.poll() is None:
            try:
                if self.get("/-/ready")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError("Prometheus did not get ready:\n" + self.log_tail())

    def get(self, path, params=None):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        c.request("GET", path + ("?" + urllib.parse.urlencode(params, doseq=True) if params else ""))
        r = c.getresponse()
        body = r.read().decode()
        c.close()
        return r.status, body

    def api(self, path, params=None):
        status, body = self.get("/api/v1/" + path, params)
        try:
            return json.loads(body)
        except ValueError:
            return {"status": f"http {status}", "error": body[:300]}

    def query(self, expr):
        """(status, [samples]) of an instant query."""
        r = self.api("query", {"query": expr})
        if r.get("status") != "success":
            return f"{r.get('status')}: {r.get('error')}", []
        return "success", r["data"]["result"]

    def log_tail(self):
        if not self.log.closed:
            self.log.flush()
        with open(self.log_path) as f:
            return "".join(f.readlines()[-20:])

    def stop(self):
        try:
            return terminate(self.proc, 15)
        finally:
            self.log.close()


# ------------------------------------------------------------------ traffic
class Traffic(threading.Thread):
    """Keeps a mix of requests going, one at a time (but for the streams it hangs up on, which
    run on in the daemon), until stopped; counts the answers it got."""

    def __init__(self, port):
        super().__init__(daemon=True)
        self.port, self.stop_event = port, threading.Event()
        self.scraped = threading.Event()  # set once Prometheus scrapes: time for the faults
        self.faults_from = None  # the step the faults count from
        self.statuses = collections.Counter()
        self.errors = []
        self.sessions = {}  # (key, name) -> messages

    def chat(self, key, session, header=False, stream=False):
        messages = self.sessions.setdefault((key, session), [])
        messages.append({"role": "user", "content": f"Turn {len(messages) // 2}: tell me about the weather."})
        body = {"model": "tiny", "messages": messages, "max_tokens": 8, "temperature": 0}
        headers = {}
        if header:
            headers["X-Session-Id"] = session
        else:
            body["session_id"] = session
        if stream:
            body["stream"] = True
            status, events = self.stream("/v1/chat/completions", body, key, headers)
            text = "".join(e["choices"][0]["delta"].get("content") or "" for e in events
                           if isinstance(e, dict) and e.get("choices"))
            self.statuses["stream done" if status == 200 and events[-1:] == ["[DONE]"] else
                          f"stream broken {status} {events[-1:]}"] += 1
            reply = {"role": "assistant", "content": text} if status == 200 else None
        else:
            status, _, answer = call(self.port, "POST", "/v1/chat/completions", body, headers, key=key)
            self.statuses[status] += 1
            reply = json.loads(answer)["choices"][0]["message"] if status == 200 else None
        if reply is None:
            messages.pop()
        else:
            messages.append(reply)
        if len(messages) >= 12:  # six turns: drop the session, start over under the same name
            status, _, _ = call(self.port, "DELETE", f"/v1/sessions/{session}", key=key)
            self.statuses[f"DELETE {status}"] += 1
            messages.clear()

    def stream(self, path, body, key, headers=None, on_first=None):
        """(status, [events]) of a streamed POST: each `data:` payload decoded (or "[DONE]"),
        the error body as one event when the status is not 200; on_first() runs after the
        first event."""
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        c.request("POST", path, body=json.dumps(body), headers={
            "Content-Type": "application/json", "Authorization": f"Bearer {key}", **(headers or {})})
        r = c.getresponse()
        if r.status != 200:
            error = r.read().decode(errors="replace")
            c.close()
            return r.status, [error]
        events = []
        for raw in r:
            line = raw.decode().strip()
            if line.startswith("data: "):
                events.append(line[6:] if line[6:] == "[DONE]" else json.loads(line[6:]))
                if len(events) == 1 and on_first:
                    on_first()
        c.close()
        return r.status, events

    def wait_idle(self):
        """Until nothing runs or waits (a stream we hung up on may still be running), so that
        the step an injected fault fails is the next request's."""
        deadline = time.time() + 10
        while time.time() < deadline:
            m = metrics(self.port)
            if (m.get('vllm:num_requests_running{model_name="tiny"}') == 0 and
                    m.get('vllm:num_requests_waiting{model_name="tiny"}') == 0):
                return
            time.sleep(0.02)

    def inject_fault(self):
        """The engine's next step fails (the daemon's test hook)."""
        with open(FAULT_FILE + ".tmp", "w") as f:
            f.write("1")
        os.replace(FAULT_FILE + ".tmp", FAULT_FILE)  # appears whole

    def engine_fault_before_first_token(self):
        self.wait_idle()
        self.inject_fault()
        status, _, _ = call(self.port, "POST", "/v1/completions",
                            {"model": "tiny", "prompt": "A failed step", "max_tokens": 6}, key=GLOBEX)
        self.statuses[f"engine fault: {status}"] += 1

    def engine_fault_in_stream(self):
        self.wait_idle()
        status, events = self.stream("/v1/completions", {
            "model": "tiny", "prompt": "A long story", "max_tokens": 1500, "ignore_eos": True, "stream": True},
            GLOBEX, on_first=self.inject_fault)
        error = any(isinstance(e, dict) and "error" in e for e in events)
        self.statuses[f"engine fault in stream: {status} {'error event' if error else 'no error event'}"] += 1

    def hang_up(self):
        """A long stream whose client leaves after the first event (499)."""
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        c.request("POST", "/v1/completions", body=json.dumps(
            {"model": "tiny", "prompt": "Once upon a time", "max_tokens": 1500, "ignore_eos": True,
             "stream": True}), headers={"Content-Type": "application/json", "Authorization": f"Bearer {GLOBEX}"})
        r = c.getresponse()
        r.readline()  # the stream has started
        c.close()
        self.statuses["hung up"] += 1

    def step(self, i):
        self.chat(GLOBEX, f"g{i % 5}", header=i % 2 == 0)
        self.chat(ACME, f"a{i % 3}")  # acme: 6 a minute, then 429
        if i % 3 == 0:
            self.chat(GLOBEX, f"gs{i % 4}", stream=True)
        status, _, _ = call(self.port, "POST", "/v1/completions",
                            {"model": "tiny", "prompt": f"Number {i} is", "max_tokens": 6}, key=GLOBEX)
        self.statuses[status] += 1
        if i % 4 == 1:
            self.statuses[call(self.port, "POST", "/v1/completions", b'{"model": "tiny",', key=GLOBEX)[0]] += 1
            self.statuses[call(self.port, "POST", "/v1/completions", {"model": "tiny", "prompt": "x"},
                               key="sk-not-a-key")[0]] += 1
            self.statuses[call(self.port, "POST", "/v1/completions", {"model": "no-such-model", "prompt": "x"},
                               key=ACME)[0]] += 1
            self.statuses[call(self.port, "POST", "/v1/completions", b"x" * 70000, key=GLOBEX)[0]] += 1
        if i % 6 == 2:
            self.hang_up()
        if self.faults_from is None and self.scraped.is_set():
            self.faults_from = i
        if self.faults_from is not None and i == self.faults_from + 2:
            self.engine_fault_before_first_token()
        if self.faults_from is not None and i == self.faults_from + 5:
            self.engine_fault_in_stream()

    def run(self):
        i = 0
        while not self.stop_event.is_set():
            try:
                self.step(i)
            except Exception as e:  # noqa: BLE001 (reported by the main thread)
                self.errors.append(f"step {i}: {type(e).__name__}: {e}")
                if len(self.errors) > 5:
                    return
            i += 1
            self.stop_event.wait(0.1)

    def stop(self):
        self.stop_event.set()
        self.join(timeout=30)


# ------------------------------------------------------------------ the test
def has_value(samples):
    return any(not math.isnan(float(s["value"][1])) for s in samples)


def evaluate(prom, items, deadline):
    """Queries every (source, expr) until all have a non-NaN series or the deadline; returns
    {index: (status, samples)}."""
    results = {}
    pending = list(range(len(items)))
    while True:
        for n in pending:
            results[n] = prom.query(items[n][1])
        pending = [n for n in pending if not (results[n][0] == "success" and has_value(results[n][1]))]
        if not pending or time.time() > deadline:
            return results
        time.sleep(1)


def measure(prom, traffic):
    """Waits for the scrapes and the series some traffic creates, evaluates every expression,
    and prints the table."""
    wanted = ['count_over_time(up{job="trimserve"}[1m]) >= 8',
              'trimserve_requests_total{status="500"}', 'trimserve_requests_total{status="499"}',
              'trimserve_requests_total{status="200", finish="error"}',
              'trimserve_rejected_requests_total{status="429"}', 'trimserve_session_turns_total{cache="disk"} > 0']
    deadline = time.time() + 40
    while time.time() < deadline and not all(prom.query(w)[1] for w in wanted):
        if not check(not traffic.errors and traffic.is_alive(), f"traffic stopped: {traffic.errors}"):
            return
        time.sleep(0.5)
    for w in wanted:
        check(prom.query(w)[1], f"not seen in time: {w}")

    items = ([(f"panel {s}", grafana_to_promql(e)) for s, e in panel_items] +
             [(s, e) for s, e, _ in rule_items])
    results = evaluate(prom, items, time.time() + 15)
    rows = []
    for n, (source, expr) in enumerate(items):
        status, samples = results[n]
        check(status == "success", f"{source}: {status}\n  {expr}")
        check(has_value(samples), f"{source}: no series with a value\n  {expr}")
        nan = sum(math.isnan(float(s["value"][1])) for s in samples)
        rows.append((source, len(samples), f"{nan} NaN" if nan else "", expr))
    for source, expr, full in rule_items:
        if full is not None:
            status, samples = prom.query(full)
            check(status == "success", f"{source}, full expr: {status}\n  {full}")
        else:  # Prometheus itself records it
            name = source.split()[1]
            check(prom.query(name)[1], f"{source}: Prometheus recorded no series")
    for source, q in label_items:
        m = re.fullmatch(r"label_values\((.+),\s*(\w+)\)", q.strip())
        if not check(m is not None, f"{source}: not label_values(selector, label): {q}"):
            continue
        selector, label = grafana_to_promql(m[1]), m[2]
        r = prom.api(f"label/{label}/values", {"match[]": selector})
        values = r.get("data") or []
        check(r.get("status") == "success" and values, f"{source}: {r}")
        rows.append((f"{source} -> {values}", len(values), "", f"{q}  [/api/v1/label/{label}/values]"))

    groups = prom.api("rules").get("data", {}).get("groups", [])
    loaded = sum(len(g["rules"]) for g in groups)
    bad = [(r["name"], r.get("lastError")) for g in groups for r in g["rules"] if r.get("health") != "ok"]
    check(loaded == len(rule_items) and not bad, f"rules loaded by Prometheus: {loaded} of {len(rule_items)}, unhealthy {bad}")
    targets = prom.api("targets").get("data", {}).get("activeTargets", [])
    check([t["health"] for t in targets] == ["up"],
          f"scrape targets {[(t['scrapeUrl'], t['health'], t.get('lastError')) for t in targets]}")
    active = sorted({(a["labels"]["alertname"], a["state"]) for a in prom.api("alerts").get("data", {}).get("alerts", [])})

    print(f"\n{'source':<62} {'series':>6}  expression")
    for source, count, note, expr in rows:
        print(f"{source:<62} {count:>6}  {expr}{'   (' + note + ')' if note else ''}")
    print(f"\n{len(rows)} expressions; alerts pending or firing at the end: {active or 'none'}")


signal.signal(signal.SIGALRM, on_alarm)
signal.alarm(TIME_LIMIT_S)
started = time.time()

run([PROMTOOL, "check", "rules", RULES])
run([PROMTOOL, "test", "rules", RULES_TEST])
run([PROMTOOL, "check", "config", PROM_CONFIG])
rule_items = rule_expressions()
panel_items, label_items = dashboard_expressions()

with tempfile.TemporaryDirectory() as tmp:
    FAULT_FILE = os.path.join(tmp, "fault")
    os.environ["TRIMSERVE_FAULT_INJECTION_FILE"] = FAULT_FILE
    daemon = Daemon(tmp, config=CONFIG.format(sessions=os.path.join(tmp, "sessions"), acme=ACME, globex=GLOBEX))
    del os.environ["TRIMSERVE_FAULT_INJECTION_FILE"]
    prom = traffic = None
    try:
        try:
            traffic = Traffic(daemon.port)
            traffic.start()
            prom = Prometheus(tmp, daemon.port)
            traffic.scraped.set()  # the engine faults happen while Prometheus watches
            measure(prom, traffic)
        finally:
            signal.alarm(0)
            if traffic is not None:
                traffic.stop()
                check(not traffic.errors, f"traffic errors: {traffic.errors}")
                print("traffic:", dict(sorted(traffic.statuses.items(), key=str)))
            if prom is not None:
                rc = prom.stop()
                check(rc == 0, f"prometheus exit code {rc}:\n{prom.log_tail()}")
            rc = daemon.stop()
            check(rc == 0, f"daemon exit code {rc}")
    except Exception as e:  # noqa: BLE001 (the children are stopped; the test fails)
        traceback.print_exc()
        check(False, f"{type(e).__name__}: {e}")
    if traffic is not None:
        for answer in EXPECTED:
            check(traffic.statuses[answer] > 0, f"no {answer!r} in the traffic")
        unexpected = {k: v for k, v in traffic.statuses.items() if k not in EXPECTED}
        check(not unexpected, f"unexpected answers: {unexpected}")

print(f"runtime {time.time() - started:.1f} s")
if problems:
    sys.exit(1)
print("prometheus_dashboard_test: ok")
