"""Plain-HTTP helpers the daemon's integration tests share: /metrics as a dict, "is the daemon
idle" (nothing running or waiting, no KV page in use), a greedy completion, and an SSE stream
read event by event. Used by tests/server/*_test.py."""
import http.client
import json


def metrics(port):
    """{'name{labels}': value} of every sample in GET /metrics."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    c.request("GET", "/metrics")
    out = {}
    for line in c.getresponse().read().decode().splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            out[name] = float(value)
    return out


def idle(port, model="tiny"):
    m = metrics(port)
    return (m.get(f'vllm:num_requests_running{{model_name="{model}"}}', -1) == 0 and
            m.get(f'vllm:num_requests_waiting{{model_name="{model}"}}', -1) == 0 and
            m.get('trimserve_kv_pages{state="used"}', -1) == 0)


def status_of(port, path):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    c.request("GET", path)
    r = c.getresponse()
    r.read()
    return r.status


def greedy_text(port, prompt="The Congress", max_tokens=16, model="tiny"):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    c.request("POST", "/v1/completions", headers={"Content-Type": "application/json"}, body=json.dumps(
        {"model": model, "prompt": prompt, "max_tokens": max_tokens, "temperature": 0}))
    return json.loads(c.getresponse().read())["choices"][0]["text"]


def sse_events(port, path, body, headers=None, timeout=120):
    """Yields each `data:` payload of a streamed POST (decoded JSON, or the string "[DONE]")."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    c.request("POST", path, body=json.dumps(body),
              headers={"Content-Type": "application/json", **(headers or {})})
    r = c.getresponse()
    for raw in r:
        line = raw.decode().strip()
        if line.startswith("data: "):
            data = line[6:]
            yield data if data == "[DONE]" else json.loads(data)


def call(port, method, path, body=None, headers=None, key=None):
    """(status, headers dict, body text) of one request; `body` a dict is sent as JSON, bytes
    as they are; `key` becomes `Authorization: Bearer <key>`."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    data = body if isinstance(body, (bytes, type(None))) else json.dumps(body).encode()
    h = {"Content-Type": "application/json", **(headers or {})}
    if key:
        h["Authorization"] = f"Bearer {key}"
    c.request(method, path, body=data, headers=h)
    r = c.getresponse()
    payload = r.read().decode(errors="replace")
    c.close()
    return r.status, dict(r.getheaders()), payload
