"""`trimserve serve` fed malformed input at the API and HTTP level, over raw sockets: bodies
that are not UTF-8 inside JSON strings, max_tokens of the wrong type or value, too many or too
long stop strings, JSON nested 100,000 deep, malformed messages, an unknown model, truncated
JSON, trailing garbage, `null` and array bodies, duplicate keys, a Content-Length the client
never delivers, a chunked body, HTTP/1.0, an oversized header, and wrongly typed or valued
sampling fields. Every refusal must carry the right status and an OpenAI-shaped JSON error
(`{"error": {"message", "type", "param", "code"}}`, `param` naming the field where there is
one), and after every case the daemon must still answer GET /health (and, now and then and at
the end, a real chat completion). A table of (case, status, message) is printed at the end.

Status conventions checked (server/api/api_error.h): malformed JSON and wrong JSON types 400,
unknown model 404, prompt past the context 400 (code context_length_exceeded, as OpenAI), body
too large 413, semantically invalid values 422, header block too large 431."""
import http.client
import json
import os
import socket
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
from daemon import Daemon  # noqa: E402

# 256 KiB bodies: room for 10,000 stop strings and JSON nested 100,000 deep; a 1 MB body is
# still over the limit (413).
BODY_LIMIT = 256 * 1024
CONFIG = ("server:\n  port: 0\n  limits:\n    max_body_bytes: 256KiB\n    max_header_bytes: 16KiB\n"
          "    read_timeout_s: 5\n"
          "model:\n  served_name: tiny\n"
          "kvpool:\n  capacity: {entries: 200000}\n  budget: 16\n  buffer: 4\n"
          "engine:\n  prefill_chunk: 64\n"
          "scheduler:\n  max_batched_tokens: 256\n")

from checks import check, problems  # noqa: E402

table = []  # (case, status, message)
HELLO = [{"role": "user", "content": "Hello there"}]


def dumps(obj):
    return json.dumps(obj, separators=(",", ":")).encode()


def exchange(port, raw, timeout=20, shutdown_write=False):
    """Sends `raw` bytes on a fresh connection and parses one response. Returns (status,
    headers dict (lowercase names), body bytes, HTTP version), or (None, {}, b"", None) when the
    server closed the connection without answering."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        try:
            s.sendall(raw)
        except (BrokenPipeError, ConnectionResetError):
            pass  # refused before all was sent: the answer may still be there to read
        if shutdown_write:
            s.shutdown(socket.SHUT_WR)
        r = http.client.HTTPResponse(s)
        try:
            r.begin()
        except (http.client.RemoteDisconnected, ConnectionResetError):
            return None, {}, b"", None
        body = r.read()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, body, r.version
    finally:
        s.close()


def post_raw(port, path, body, extra_headers=b""):
    head = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n").encode()
    return exchange(port, head + extra_headers + b"\r\n" + body)


def healthy(port, what):
    status, _, _, _ = exchange(port, b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    return check(status == 200, f"after {what}: GET /health gave {status}")


def chat_ok(port, what, **extra):
    body = {"model": "tiny", "messages": HELLO, "temperature": 0, "max_tokens": 4, **extra}
    status, _, payload, _ = post_raw(port, "/v1/chat/completions", dumps(body))
    ok = status == 200
    if ok:
        reply = json.loads(payload)
        ok = reply["object"] == "chat.completion" and reply["usage"]["completion_tokens"] >= 1
    check(ok, f"after {what}: a normal chat completion gave {status} {payload[:200]!r}")
    return json.loads(payload) if ok else None


def record(case, status, body):
    try:
        message = json.loads(body)["error"]["message"]
    except Exception:
        message = body[:80].decode("utf-8", "replace")
    table.append((case, status, message))


def expect_error(port, case, status, body, expect, param=None, code=None, etype=None,
                 message_has=None, headers=None):
    """`status`/`body` are the daemon's answer. Checks the status, the error shape (all four
    keys, message a non-empty string), `param` (exactly; None = JSON null), and optionally code,
    type and a message fragment; then that the daemon is alive."""
    record(case, status, body)
    check(status == expect, f"{case}: status {status}, expected {expect}: {body[:300]!r}")
    if headers is not None:
        check(headers.get("content-type", "").startswith("application/json"),
              f"{case}: Content-Type {headers.get('content-type')}")
    e = {}
    try:
        e = json.loads(body)["error"]
    except Exception:
        check(False, f"{case}: body is not an OpenAI error: {body[:300]!r}")
    else:
        check(set(e) == {"message", "type", "param", "code"},
              f"{case}: error keys {sorted(e)}")
        check(isinstance(e.get("message"), str) and e["message"] != "", f"{case}: message {e.get('message')!r}")
        check(isinstance(e.get("type"), str) and e["type"] != "", f"{case}: type {e.get('type')!r}")
        check(e.get("param") == param, f"{case}: param {e.get('param')!r}, expected {param!r}")
        if code is not None:
            check(e.get("code") == code, f"{case}: code {e.get('code')!r}, expected {code!r}")
        if etype is not None:
            check(e.get("type") == etype, f"{case}: type {e.get('type')!r}, expected {etype!r}")
        if message_has is not None:
            check(message_has in e.get("message", ""),
                  f"{case}: message {e.get('message')!r} lacks {message_has!r}")
    healthy(port, case)
    return e


def api_case(port, case, body, expect, param=None, path="/v1/chat/completions", **kw):
    """POSTs `body` (bytes as is, anything else as compact JSON) and checks the error."""
    data = body if isinstance(body, bytes) else dumps(body)
    status, headers, payload, _ = post_raw(port, path, data)
    return expect_error(port, case, status, payload, expect, param, headers=headers, **kw)


def chat(**fields):
    return {"model": "tiny", "messages": HELLO, "max_tokens": 4, **fields}


started = time.time()
with tempfile.TemporaryDirectory() as tmp:
    daemon = Daemon(tmp, config=CONFIG)
    port = daemon.port
    try:
        healthy(port, "start")
        chat_ok(port, "start")

        # --- Not UTF-8 inside JSON strings: the body is not valid JSON (RFC 8259 §8.1).
        api_case(port, "chat content b'\\xff\\xfe'",
                 b'{"model":"tiny","messages":[{"role":"user","content":"\xff\xfe"}]}', 400,
                 message_has="not valid JSON")
        api_case(port, "completions prompt b'\\xc3\\x28'",
                 b'{"model":"tiny","prompt":"ab\xc3\x28cd","max_tokens":2}', 400,
                 path="/v1/completions", message_has="not valid JSON")
        api_case(port, "stop string b'\\xff'",
                 b'{"model":"tiny","messages":[{"role":"user","content":"hi"}],"stop":["\xff"]}',
                 400, message_has="not valid JSON")
        api_case(port, "overlong UTF-8 b'\\xc0\\xaf'",
                 b'{"model":"tiny","messages":[{"role":"user","content":"\xc0\xaf"}]}', 400,
                 message_has="not valid JSON")
        api_case(port, "lone surrogate \\ud800",
                 b'{"model":"tiny","messages":[{"role":"user","content":"\\ud800"}]}', 400,
                 message_has="not valid JSON")
        # Valid JSON: an escaped NUL and a UTF-8 4-byte character are ordinary content.
        chat_ok(port, "non-UTF-8 cases", messages=[{"role": "user", "content": "a\u0000b \U0001F600"}])

        # --- max_tokens: wrong JSON type 400, bad value 422, past the context 400.
        api_case(port, "max_tokens -1", chat(max_tokens=-1), 422, "max_tokens")
        api_case(port, "max_tokens 0", chat(max_tokens=0), 422, "max_tokens")
        api_case(port, "max_tokens \"16\"", chat(max_tokens="16"), 400, "max_tokens")
        api_case(port, "max_tokens 1.5", chat(max_tokens=1.5), 400, "max_tokens")
        api_case(port, "max_completion_tokens 0", chat(max_completion_tokens=0), 422,
                 "max_completion_tokens")
        api_case(port, "max_tokens 10**6 (past the context)", chat(max_tokens=10 ** 6), 400,
                 "messages", code="context_length_exceeded", message_has="maximum context length")
        e = api_case(port, "max_tokens 2**63-1", chat(max_tokens=2 ** 63 - 1), 400, "messages",
                     code="context_length_exceeded")
        # The sum is saturated, never a wrapped negative number.
        check("requested -" not in e.get("message", ""), f"max_tokens 2**63-1: {e}")
        # An integer too large for int64 is the right type with a value out of range: 422.
        api_case(port, "max_tokens 10**30", chat(max_tokens=10 ** 30), 422, "max_tokens",
                 message_has="out of range")
        api_case(port, "max_tokens 2**64", chat(max_tokens=2 ** 64), 422, "max_tokens",
                 message_has="out of range")
        chat_ok(port, "max_tokens cases")

        # --- stop strings: engine/sampling_params.h kMaxStopStrings 16, kMaxStopStringBytes 256.
        api_case(port, "10,000 stop strings", chat(stop=["a"] * 10000), 422, "stop",
                 message_has="at most 16 strings, got 10000")
        api_case(port, "17 stop strings", chat(stop=[f"s{i}" for i in range(17)]), 422, "stop",
                 message_has="at most 16")
        chat_ok(port, "16 stop strings", stop=[f"zz{i}" for i in range(16)])
        api_case(port, "300-byte stop string", chat(stop="q" * 300), 422, "stop[0]",
                 message_has="at most 256 bytes, got 300")
        api_case(port, "empty stop string", chat(stop=["x", ""]), 422, "stop[1]")
        api_case(port, "stop of numbers", chat(stop=[1, 2]), 400, "stop")
        chat_ok(port, "256-byte stop string", stop="q" * 256)
        # 1 MB stop string: over the body limit, refused by the HTTP layer before any parsing.
        api_case(port, "1 MB stop string (body limit)", chat(stop="q" * (1 << 20)), 413, None,
                 code="request_too_large", message_has=str(BODY_LIMIT))

        # --- Deeply nested JSON (nlohmann's parser is iterative: no stack overflow).
        deep = 100_000
        api_case(port, "messages nested 100k deep",
                 b'{"model":"tiny","messages":' + b"[" * deep + b"]" * deep + b"}", 400,
                 "messages[0]")
        api_case(port, "100k unclosed '['", b"[" * deep, 400, message_has="not valid JSON")
        api_case(port, "top-level array nested 100k deep", b"[" * deep + b"]" * deep, 400,
                 message_has="must be a JSON object")
        # Unknown fields are ignored, however deep.
        status, _, payload, _ = post_raw(
            port, "/v1/chat/completions",
            b'{"model":"tiny","messages":[{"role":"user","content":"hi"}],"max_tokens":2,"x":' +
            b'{"a":' * 30_000 + b"1" + b"}" * 30_000 + b"}")
        table.append(("objects nested 30k deep in an unknown field", status,
                      "" if status == 200 else payload[:80].decode()))
        check(status == 200, f"deep unknown field: {status} {payload[:200]!r}")
        healthy(port, "deep unknown field")
        chat_ok(port, "deep nesting")

        # --- Malformed requests.
        api_case(port, "messages not an array", {"model": "tiny", "messages": "hi"}, 400, "messages")
        api_case(port, "message without role", {"model": "tiny", "messages": [{"content": "hi"}]},
                 400, "messages[0].role")
        api_case(port, "role \"robot\"", {"model": "tiny", "messages": [{"role": "robot", "content": "x"}]},
                 422, "messages[0].role")
        api_case(port, "content a number", {"model": "tiny", "messages": [{"role": "user", "content": 42}]},
                 400, "messages[0].content")
        api_case(port, "message not an object", {"model": "tiny", "messages": ["hi"]}, 400, "messages[0]")
        api_case(port, "empty messages", {"model": "tiny", "messages": []}, 422, "messages")
        api_case(port, "no messages", {"model": "tiny"}, 400, "messages")
        api_case(port, "no model", {"messages": HELLO}, 400, "model")
        api_case(port, "model a number", {"model": 7, "messages": HELLO}, 400, "model")
        # OpenAI answers an unknown model 404, code model_not_found (the SDKs raise
        # NotFoundError from the status alone).
        e = api_case(port, "unknown model", {"model": "gpt-9", "messages": HELLO}, 404, "model",
                     code="model_not_found", message_has="gpt-9")
        check(e.get("type") == "invalid_request_error", f"unknown model: type {e.get('type')!r}")
        api_case(port, "unknown model (completions)", {"model": "gpt-9", "prompt": "hi"}, 404, "model",
                 path="/v1/completions", code="model_not_found")
        api_case(port, "truncated JSON", b'{"model":"tiny","messages":[{"role":"user","con', 400,
                 message_has="not valid JSON")
        api_case(port, "trailing garbage", dumps(chat()) + b" xyz", 400, message_has="not valid JSON")
        api_case(port, "two JSON objects", dumps(chat()) + dumps(chat()), 400, message_has="not valid JSON")
        api_case(port, "body null", b"null", 400, message_has="must be a JSON object")
        api_case(port, "body a top-level array", b"[" + dumps(chat()) + b"]", 400,
                 message_has="must be a JSON object")
        api_case(port, "body a string", b'"hello"', 400, message_has="must be a JSON object")
        api_case(port, "empty body", b"", 400, message_has="not valid JSON")
        api_case(port, "JSON with comments", b'{"model":"tiny", /* c */ "messages":[]}', 400,
                 message_has="not valid JSON")

        # Duplicate keys: the last one wins (as in Python's json and JavaScript).
        status, _, payload, _ = post_raw(
            port, "/v1/chat/completions",
            b'{"model":"gpt-9","model":"tiny","messages":[{"role":"user","content":"hi"}],'
            b'"max_tokens":9,"max_tokens":2,"ignore_eos":true,"temperature":0}')
        table.append(("duplicate keys (last wins)", status, "" if status == 200 else payload[:80].decode()))
        check(status == 200 and json.loads(payload)["usage"]["completion_tokens"] == 2,
              f"duplicate keys: {status} {payload[:200]!r}")
        healthy(port, "duplicate keys")

        # --- HTTP framing.
        # Content-Length larger than what is sent, then the client closes: no answer is owed,
        # the server must drop the connection and stay up.
        body = dumps(chat())
        head = (b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b"Content-Length: %d\r\n\r\n" % (len(body) + 500))
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        s.sendall(head + body)
        s.close()
        table.append(("Content-Length > sent, client closes", "-", "(no answer owed)"))
        healthy(port, "short body, client closed")
        # The same, but the client only half-closes and waits: the daemon must not hang; it
        # closes (or answers 400) — never a 200 for a body it did not get.
        status, _, payload, _ = exchange(port, head + body, shutdown_write=True)
        table.append(("Content-Length > sent, half-close", status if status else "closed",
                      payload[:80].decode("utf-8", "replace")))
        check(status in (None, 400), f"short body + half-close: {status} {payload[:200]!r}")
        healthy(port, "short body, half-close")
        # The client keeps the connection open and never sends the rest: 408 after
        # server.limits.read_timeout_s (5 s here).
        t0 = time.time()
        s = socket.create_connection(("127.0.0.1", port), timeout=20)
        try:
            s.sendall(head + body)
            r = http.client.HTTPResponse(s)
            r.begin()
            payload = r.read()
            expect_error(port, "Content-Length > sent, client waits", r.status, payload, 408, None,
                         code="request_timeout")
            check(time.time() - t0 < 15, f"408 took {time.time() - t0:.1f} s")
        finally:
            s.close()

        # A chunked request body is an ordinary request.
        body = dumps(chat(temperature=0, max_tokens=3, ignore_eos=True))
        chunked = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in (body[:10], body[10:25], body[25:]))
        status, _, payload, _ = exchange(
            port, b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n" + chunked + b"0\r\n\r\n")
        table.append(("chunked request body", status, "" if status == 200 else payload[:80].decode()))
        check(status == 200 and json.loads(payload)["usage"]["completion_tokens"] == 3,
              f"chunked body: {status} {payload[:200]!r}")
        healthy(port, "chunked body")
        # A chunked body with a malformed chunk size.
        status, headers, payload, _ = exchange(
            port, b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                  b"zz\r\n{}\r\n0\r\n\r\n")
        expect_error(port, "chunk size 'zz'", status, payload, 400, None, code="bad_request",
                     headers=headers)
        # A chunked body over the body limit is refused as it arrives.
        piece = b"x" * 65536
        status, headers, payload, _ = exchange(
            port, b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
                  b"%x\r\n%s\r\n" % (len(piece), piece) * 5 + b"0\r\n\r\n")
        expect_error(port, "chunked body over the limit", status, payload, 413, None,
                     code="request_too_large", headers=headers)
        # Content-Length that is not a number.
        status, headers, payload, _ = exchange(
            port, b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n{}")
        expect_error(port, "Content-Length 'abc'", status, payload, 400, None, code="bad_request",
                     headers=headers)

        # HTTP/1.0: answered in HTTP/1.0 terms, then the connection closes.
        body = dumps(chat(temperature=0, max_tokens=2))
        status, headers, payload, version = exchange(
            port, b"POST /v1/chat/completions HTTP/1.0\r\nContent-Type: application/json\r\n"
                  b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
        table.append(("HTTP/1.0 request", status, f"response HTTP/{version / 10 if version else '?'}"))
        check(status == 200 and version == 10 and json.loads(payload)["usage"]["completion_tokens"] >= 1,
              f"HTTP/1.0: {status} version {version} {payload[:200]!r}")
        healthy(port, "HTTP/1.0")
        # HTTP/1.0 asking for a stream: no chunked encoding exists there; the stream must still
        # arrive whole (close-delimited) and end with [DONE].
        body = dumps(chat(temperature=0, max_tokens=3, stream=True))
        status, headers, payload, version = exchange(
            port, b"POST /v1/chat/completions HTTP/1.0\r\nContent-Type: application/json\r\n"
                  b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
        table.append(("HTTP/1.0 streaming request", status, f"ends with [DONE]: {payload.rstrip().endswith(b'data: [DONE]')}"))
        check(status == 200 and version == 10 and "transfer-encoding" not in headers and
              payload.rstrip().endswith(b"data: [DONE]"),
              f"HTTP/1.0 stream: {status} {headers} {payload[-200:]!r}")
        healthy(port, "HTTP/1.0 stream")

        # A header line over server.limits.max_header_bytes (16 KiB).
        status, headers, payload, _ = exchange(
            port, b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n")
        expect_error(port, "20 KB header line", status, payload, 431, None, code="headers_too_large",
                     headers=headers)
        # Garbage instead of a request line.
        status, headers, payload, _ = exchange(port, b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n")
        expect_error(port, "TLS hello on the HTTP port", status, payload, 400, None, code="bad_request")
        chat_ok(port, "HTTP framing")

        # --- Sampling fields of the wrong type or value.
        api_case(port, "temperature \"hot\"", chat(temperature="hot"), 400, "temperature")
        api_case(port, "temperature -1", chat(temperature=-1), 422, "temperature")
        api_case(port, "top_p 7", chat(top_p=7), 422, "top_p")
        api_case(port, "top_p 0", chat(top_p=0), 422, "top_p")
        api_case(port, "n 2", chat(n=2), 422, "n")
        api_case(port, "stream \"yes\"", chat(stream="yes"), 400, "stream")
        api_case(port, "stream_options \"x\"", chat(stream=True, stream_options="x"), 400, "stream_options")
        api_case(port, "session_id \"\"", chat(session_id=""), 422, "session_id")
        api_case(port, "session_id 5", chat(session_id=5), 400, "session_id")
        api_case(port, "presence_penalty 3", chat(presence_penalty=3), 422, "presence_penalty")
        api_case(port, "top_logprobs without logprobs", chat(top_logprobs=2), 422, "top_logprobs")
        api_case(port, "kv_budget \"big\"", chat(kv_budget="big"), 400, "kv_budget")
        api_case(port, "kv_policy \"bogus\"", chat(kv_policy="bogus"), 422, "kv_policy")
        api_case(port, "kv_budget -5", chat(kv_budget=-5), 422, "kv_budget")
        api_case(port, "kv_budget 10**12", chat(kv_budget=10 ** 12), 422, "kv_budget",
                 message_has="kv_budget must be <= 2^31")

        # Token-id prompts of /v1/completions.
        api_case(port, "completions prompt []", {"model": "tiny", "prompt": []}, 400, "prompt",
                 path="/v1/completions")
        api_case(port, "completions prompt \"\"", {"model": "tiny", "prompt": ""}, 422, "prompt",
                 path="/v1/completions")
        api_case(port, "completions token id -1", {"model": "tiny", "prompt": [-1]}, 422, "prompt",
                 path="/v1/completions", message_has="token id -1 ")
        e = api_case(port, "completions token id 2**63+5", {"model": "tiny", "prompt": [2 ** 63 + 5]},
                     422, "prompt", path="/v1/completions")
        check("token id -" not in e.get("message", ""), f"token id 2**63+5: {e}")

        chat_ok(port, "the end")
        alive = daemon.proc.poll() is None
        check(alive, f"daemon exited: {daemon.proc.returncode}")
    finally:
        rc = daemon.stop()
    check(rc == 0, f"exit code after SIGTERM: {rc}")
    if problems:
        print("daemon log tail:\n" + "".join(daemon.log[-20:]))

width = max(len(c) for c, _, _ in table)
print(f"{'case':<{width}}  status  message")
for case, status, message in table:
    print(f"{case:<{width}}  {str(status):<6}  {message[:110]}")
print(f"{len(table)} cases in {time.time() - started:.1f} s")
if problems:
    print("FAILED:\n  " + "\n  ".join(problems))
    sys.exit(1)
print("api_malformed_test: every malformed input refused with an OpenAI-shaped error; still serving")
