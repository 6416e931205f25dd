"""`trimserve serve` end to end over real HTTP (Python's http.client, loopback, port 0):
health and readiness, /v1/models, /tokenize + /detokenize, GET/DELETE /v1/sessions/{id},
chat completions non-streaming and streaming (SSE with
usage, [DONE]), greedy determinism and stream == non-stream, multi-turn sessions reporting
cached_tokens, concurrent clients, OpenAI-shaped errors (400/404/413/422) after which the
daemon keeps serving, /metrics checked by promtool, and SIGTERM ending with exit 0.
"""
import http.client
import json
import os
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
from daemon import Daemon  # noqa: E402

from checks import check, problems  # noqa: E402


def request(port, method, path, body=None, headers=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    data = body if isinstance(body, (bytes, type(None))) else json.dumps(body).encode()
    c.request(method, path, body=data, headers={"Content-Type": "application/json", **(headers or {})})
    r = c.getresponse()
    payload = r.read()
    c.close()
    return r.status, dict(r.getheaders()), payload


def chat(port, messages, **extra):
    body = {"model": "tiny", "messages": messages, "temperature": 0, "max_tokens": 6, **extra}
    return request(port, "POST", "/v1/chat/completions", body)


def stream_chat(port, messages, **extra):
    body = {"model": "tiny", "messages": messages, "temperature": 0, "max_tokens": 6,
            "stream": True, "stream_options": {"include_usage": True}, **extra}
    status, headers, payload = request(port, "POST", "/v1/chat/completions", body)
    events = [l[len("data: "):] for l in payload.decode().split("\n\n") if l.startswith("data: ")]
    return status, headers, events


with tempfile.TemporaryDirectory() as tmp:
    daemon = Daemon(tmp)
    port = daemon.port
    try:
        status, _, body = request(port, "GET", "/health")
        check(status == 200, f"/health {status}")
        status, _, body = request(port, "GET", "/ready")
        check(status == 200, f"/ready {status}")
        status, _, body = request(port, "GET", "/v1/models")
        models = json.loads(body)
        check(status == 200 and models["data"][0]["id"] == "tiny", f"/v1/models {body}")

        hello = [{"role": "user", "content": "Hello there"}]
        status, _, body = chat(port, hello)
        check(status == 200, f"chat {status} {body}")
        first = json.loads(body)
        print("non-stream:", json.dumps(first))
        check(first["object"] == "chat.completion", "object")
        check(first["usage"]["completion_tokens"] == 6, f"usage {first['usage']}")
        check(first["choices"][0]["finish_reason"] == "length", "finish_reason")
        status, _, body = chat(port, hello)
        check(json.loads(body)["choices"][0]["message"]["content"] ==
              first["choices"][0]["message"]["content"], "greedy determinism")

        status, headers, events = stream_chat(port, hello)
        print("stream events:", events)
        check(status == 200 and headers.get("Content-Type", "").startswith("text/event-stream"),
              f"stream status {status} {headers}")
        check(events[-1] == "[DONE]", "stream ends with [DONE]")
        chunks = [json.loads(e) for e in events[:-1]]
        text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"])
        check(text == first["choices"][0]["message"]["content"], f"stream text {text!r}")
        check(chunks[-1]["usage"]["completion_tokens"] == 6, "stream usage chunk")

        # Sessions: the second and third turns reuse the cache.
        conversation = [{"role": "user", "content": "My locker code is 4417."}]
        cached = []
        for question in ["What was it?", "Say it again."]:
            status, _, body = chat(port, conversation, session_id="locker")
            answer = json.loads(body)
            cached.append(answer["usage"]["prompt_tokens_details"]["cached_tokens"])
            conversation += [{"role": "assistant", "content": answer["choices"][0]["message"]["content"]},
                             {"role": "user", "content": question}]
        status, _, body = request(port, "POST", "/v1/chat/completions",
                                  {"model": "tiny", "messages": conversation, "temperature": 0,
                                   "max_tokens": 4}, {"X-Session-Id": "locker"})
        cached.append(json.loads(body)["usage"]["prompt_tokens_details"]["cached_tokens"])
        print("session cached_tokens per turn:", cached)
        check(cached[0] == 0 and cached[1] > 0 and cached[2] > 0, f"cached_tokens {cached}")

        # The session is visible, deletable, and gone afterwards.
        status, _, body = request(port, "GET", "/v1/sessions/locker")
        info = json.loads(body)
        check(status == 200 and info["tokens"] > 0 and not info["running"], f"GET session {status} {body}")
        status, _, body = request(port, "DELETE", "/v1/sessions/locker")
        check(status == 200 and json.loads(body)["deleted"], f"DELETE session {status} {body}")
        status, _, body = request(port, "GET", "/v1/sessions/locker")
        check(status == 404 and json.loads(body)["error"]["code"] == "session_not_found", f"deleted session {status}")
        check(request(port, "DELETE", "/v1/sessions/locker")[0] == 404, "second delete 404")

        # /tokenize and /detokenize round-trip (vLLM's shapes).
        status, _, body = request(port, "POST", "/tokenize", {"model": "tiny", "prompt": "Hello there"})
        tok = json.loads(body)
        check(status == 200 and tok["count"] == len(tok["tokens"]) > 0, f"tokenize {body}")
        status, _, body = request(port, "POST", "/detokenize", {"model": "tiny", "tokens": tok["tokens"]})
        check(status == 200 and json.loads(body)["prompt"] == "Hello there", f"detokenize {body}")
        status, _, body = request(port, "POST", "/tokenize", {"model": "tiny", "messages": hello})
        check(status == 200 and json.loads(body)["count"] == first["usage"]["prompt_tokens"],
              "tokenize messages counts the chat prompt")
        check(request(port, "POST", "/detokenize", {"model": "tiny", "tokens": [10 ** 9]})[0] == 422,
              "detokenize of an unknown id is 422")

        # Concurrent clients all finish with their own (greedy) answers.
        results = {}

        def client(i):
            s, _, b = chat(port, [{"role": "user", "content": f"question number {i}"}])
            results[i] = (s, json.loads(b)["choices"][0]["message"]["content"] if s == 200 else b)

        threads = [threading.Thread(target=client, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for i in range(8):
            s, text = results[i]
            check(s == 200, f"concurrent {i}: {s}")
            s2, _, b2 = chat(port, [{"role": "user", "content": f"question number {i}"}])
            check(json.loads(b2)["choices"][0]["message"]["content"] == text, f"concurrent {i} equals alone")

        # Errors, each OpenAI-shaped; the daemon keeps serving.
        def error(expect, code_param, *args, **kw):
            status, _, body = request(port, *args, **kw)
            ok = status == expect
            try:
                e = json.loads(body)["error"]
                ok = ok and "message" in e and "type" in e
                if code_param:
                    ok = ok and (e.get("param") == code_param or e.get("code") == code_param)
            except Exception:
                ok = False
            check(ok, f"expected {expect} ({code_param}) for {args}: {status} {body[:200]}")

        error(400, None, "POST", "/v1/chat/completions", b"{not json")
        error(400, "temperature", "POST", "/v1/chat/completions",
              {"model": "tiny", "messages": hello, "temperature": "hot"})
        error(404, "model", "POST", "/v1/chat/completions", {"model": "gpt-9", "messages": hello})
        error(422, "max_tokens", "POST", "/v1/chat/completions",
              {"model": "tiny", "messages": hello, "max_tokens": -1})
        error(400, "messages", "POST", "/v1/chat/completions",
              {"model": "tiny", "messages": hello, "max_tokens": 10 ** 9})
        error(413, None, "POST", "/v1/chat/completions", b"x" * 70000)
        error(404, "not_found", "GET", "/v2/nothing")
        status, _, _ = chat(port, hello)
        check(status == 200, "still serving after errors")

        # /metrics: the live daemon's families, and a format promtool accepts (its only
        # complaint may be the colons of the vllm: names DESIGN.md requires).
        status, headers, body = request(port, "GET", "/metrics")
        text = body.decode()
        check(status == 200 and headers.get("Content-Type", "").startswith("text/plain; version=0.0.4"),
              f"/metrics {status} {headers}")
        for needle in ['vllm:num_requests_running{model_name="tiny"} ',
                       'vllm:generation_tokens_total{model_name="tiny"}',
                       'vllm:time_to_first_token_seconds_bucket{model_name="tiny",le="+Inf"}',
                       'trimserve_requests_total{tenant="default",status="200",finish="length"}',
                       'trimserve_kv_evicted_entries_total{reason="session_deleted"}',
                       'trimserve_rejected_requests_total{tenant="default",status="400"} 3',
                       'trimserve_http_transport_errors_total{status="413"} 1',
                       'trimserve_sessions_resident ',
                       'vllm:request_queue_time_seconds_count{model_name="tiny"}',
                       'trimserve_batch_sequences_bucket{model_name="tiny",le="1"}',
                       'trimserve_iteration_tokens_sum{model_name="tiny"}',
                       'trimserve_engine_step_seconds_count{model_name="tiny"}',
                       'trimserve_kv_retained_ratio ',
                       'trimserve_kv_entries_offered_total ',
                       'trimserve_prompt_cached_ratio ',
                       'trimserve_engine_healthy 1',
                       'trimserve_requests_ended_total{cause="deadline"} 0']:
            check(needle in text, f"/metrics lacks {needle!r}")
        import shutil
        if shutil.which("promtool"):
            p = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True)
            complaints = [l for l in (p.stdout + p.stderr).splitlines()
                          if l.strip() and "should not contain ':'" not in l]
            check(p.returncode in (0, 3) and not complaints, f"promtool: {p.returncode} {complaints}")
        else:
            print("promtool not installed: format check skipped")
    finally:
        rc = daemon.stop()
        check(rc == 0, f"exit code after SIGTERM: {rc}")

if problems:
    print("FAILED:\n  " + "\n  ".join(problems))
    sys.exit(1)
print("serve_http_test: API, streaming, sessions, concurrency, errors, SIGTERM all as expected")
