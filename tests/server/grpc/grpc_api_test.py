"""The gRPC API (trimserve.v1.Inference) driven by a second implementation, Python's grpcio,
against a live daemon, and compared with the HTTP API of the same daemon:

- ListModels, Tokenize (text and messages) agree with /v1/models and /tokenize;
- Generate streams exactly the greedy tokens and text /v1/completions returns, the last chunk
  with finish_reason and usage; logprobs arrive per token with the asked alternatives;
- Chat continues a session (cached_tokens on the second turn), GetSession / DeleteSession; the
  x-session-id metadata names the session when session_id is empty;
- bad input is INVALID_ARGUMENT / NOT_FOUND with the HTTP API's message, and the daemon
  keeps serving;
- a cancelled stream frees its sequence (running requests and used KV pages back to 0);
- tenants: UNAUTHENTICATED, PERMISSION_DENIED, RESOURCE_EXHAUSTED with grpc-retry-pushback-ms;
- grpc.health.v1 says SERVING, server reflection lists the service;
- SIGTERM: health NOT_SERVING and new calls UNAVAILABLE while a stream in flight finishes;
  exit 0.

Env: TRIMSERVE_SRC, TRIMSERVE_BIN, TRIMSERVE_TINY_MODELS.
"""
import http.client
import json
import os
import signal
import sys
import tempfile
import time

import grpc

SRC = os.environ.get("TRIMSERVE_SRC", os.getcwd())
sys.path.insert(0, os.path.join(SRC, "tests", "support"))
from checks import check, problems  # noqa: E402
from daemon import DEFAULT_CONFIG, Daemon  # noqa: E402
import grpc_stubs  # noqa: E402


def http_json(port, method, path, body=None, key=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Content-Type": "application/json"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    c.request(method, path, body=None if body is None else json.dumps(body), headers=headers)
    r = c.getresponse()
    return r.status, json.loads(r.read() or b"null")


def metric(port, name):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    c.request("GET", "/metrics")
    for line in c.getresponse().read().decode().splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    return None


def rpc_error(fn):
    """Calls fn(); the grpc.RpcError it raised, or None."""
    try:
        fn()
    except grpc.RpcError as e:
        return e
    return None


with tempfile.TemporaryDirectory() as tmp:
    pb, pbg = grpc_stubs.load(tmp)
    greedy = pb.SamplingParams(max_tokens=12, temperature=0)

    daemon = Daemon(tmp, config=DEFAULT_CONFIG.replace("kvpool:\n", "kvpool:\n  sessions: {ttl_s: 600}\n"))
    channel = grpc.insecure_channel(daemon.grpc_target)
    stub = pbg.InferenceStub(channel)
    try:
        # models and tokenizer
        models = stub.ListModels(pb.ListModelsRequest(), timeout=10)
        _, http_models = http_json(daemon.port, "GET", "/v1/models")
        check([m.id for m in models.models] == [m["id"] for m in http_models["data"]],
              f"ListModels {models} vs /v1/models {http_models}")
        check(models.models[0].max_model_len == http_models["data"][0]["max_model_len"], "max_model_len")
        check(models.models[0].has_retention_gates, "the -rg tiny model has retention gates")
        tok = stub.Tokenize(pb.TokenizeRequest(text="Hello world, again"), timeout=10)
        _, http_tok = http_json(daemon.port, "POST", "/tokenize", {"model": "tiny", "prompt": "Hello world, again"})
        check(list(tok.ids) == http_tok["tokens"], f"Tokenize {list(tok.ids)} vs /tokenize {http_tok['tokens']}")
        messages = [{"role": "user", "content": "What is my locker code?"}]
        tok = stub.Tokenize(pb.TokenizeRequest(messages=[pb.ChatMessage(**m) for m in messages],
                                               add_generation_prompt=True), timeout=10)
        _, http_tok = http_json(daemon.port, "POST", "/tokenize",
                                {"model": "tiny", "messages": messages, "add_generation_prompt": True})
        check(list(tok.ids) == http_tok["tokens"], "Tokenize of messages differs from /tokenize")

        # Generate == /v1/completions, greedy
        chunks = list(stub.Generate(pb.GenerateRequest(model="tiny", prompt="The Congress", sampling=greedy),
                                    timeout=60))
        ids = [t for c in chunks for t in c.token_ids]
        text = "".join(c.text for c in chunks)
        _, comp = http_json(daemon.port, "POST", "/v1/completions",
                            {"model": "tiny", "prompt": "The Congress", "max_tokens": 12, "temperature": 0})
        check(text == comp["choices"][0]["text"], f"Generate text {text!r} vs HTTP {comp['choices'][0]['text']!r}")
        check(len(ids) == 12, f"{len(ids)} token ids streamed")
        last = chunks[-1]
        check(last.finish_reason == "length" and all(not c.finish_reason for c in chunks[:-1]),
              f"finish_reason only on the last chunk: {[c.finish_reason for c in chunks]}")
        check(last.usage.completion_tokens == 12 and last.usage.prompt_tokens == comp["usage"]["prompt_tokens"],
              f"usage {last.usage} vs {comp['usage']}")
        check(len({c.id for c in chunks}) == 1 and chunks[0].id, "one request id on every chunk")
        # prompt_ids give the same tokens as the text prompt
        same = list(stub.Generate(pb.GenerateRequest(prompt_ids=pb.TokenIds(ids=list(
            stub.Tokenize(pb.TokenizeRequest(text="The Congress")).ids)), sampling=greedy), timeout=60))
        check([t for c in same for t in c.token_ids] == ids, "prompt_ids and prompt differ")

        # logprobs: one entry per token, with the alternatives asked for
        lp_chunks = list(stub.Generate(pb.GenerateRequest(prompt="The Congress", sampling=pb.SamplingParams(
            max_tokens=5, temperature=0, logprobs=True, top_logprobs=3)), timeout=60))
        entries = [e for c in lp_chunks for e in c.logprobs]
        check(len(entries) == 5 and all(len(e.top_logprobs) == 3 for e in entries),
              f"logprobs: {len(entries)} entries, tops {[len(e.top_logprobs) for e in entries]}")
        check(all(e.token_id == e.top_logprobs[0].token_id and e.logprob <= 0 for e in entries),
              "greedy tokens are their own top alternative, logprobs <= 0")

        # Chat with a session: the second turn reuses the first's cache
        turn1 = [pb.ChatMessage(role="user", content="My locker code is 4417.")]
        r1 = list(stub.Chat(pb.ChatRequest(messages=turn1, session_id="s1", sampling=greedy), timeout=60))
        reply = "".join(c.text for c in r1)
        turn2 = turn1 + [pb.ChatMessage(role="assistant", content=reply),
                         pb.ChatMessage(role="user", content="What is my locker code?")]
        r2 = list(stub.Chat(pb.ChatRequest(messages=turn2, session_id="s1", sampling=greedy), timeout=60))
        check(r2[-1].usage.cached_tokens > 0, f"second turn cached_tokens {r2[-1].usage.cached_tokens}")
        info = stub.GetSession(pb.SessionRequest(session_id="s1"), timeout=10)
        check(info.num_tokens > r2[-1].usage.prompt_tokens and not info.running, f"GetSession {info}")
        deleted = stub.DeleteSession(pb.SessionRequest(session_id="s1"), timeout=10)
        check(deleted.deleted, f"DeleteSession {deleted}")
        e = rpc_error(lambda: stub.GetSession(pb.SessionRequest(session_id="s1"), timeout=10))
        check(e is not None and e.code() == grpc.StatusCode.NOT_FOUND, f"deleted session: {e}")
        # the x-session-id metadata (what an ingress hashes on) stands in for a missing session_id
        md = [("x-session-id", "s2")]
        list(stub.Chat(pb.ChatRequest(messages=turn1, sampling=greedy), metadata=md, timeout=60))
        r2 = list(stub.Chat(pb.ChatRequest(messages=turn2, sampling=greedy), metadata=md, timeout=60))
        check(r2[-1].usage.cached_tokens > 0, f"x-session-id turn 2 cached_tokens {r2[-1].usage.cached_tokens}")
        check(stub.DeleteSession(pb.SessionRequest(session_id="s2"), timeout=10).deleted,
              "the x-session-id session exists under its id")

        # bad input: the HTTP API's messages, as gRPC statuses
        def gen(**kw):
            return lambda: list(stub.Generate(pb.GenerateRequest(**kw), timeout=30))
        for what, call, code, words in [
            ("temperature", gen(prompt="x", sampling=pb.SamplingParams(temperature=-1)),
             grpc.StatusCode.INVALID_ARGUMENT, "temperature"),
            ("top_logprobs without logprobs", gen(prompt="x", sampling=pb.SamplingParams(top_logprobs=2)),
             grpc.StatusCode.INVALID_ARGUMENT, "top_logprobs requires logprobs"),
            ("unknown model", gen(model="gpt-9", prompt="x"), grpc.StatusCode.NOT_FOUND, "gpt-9"),
            ("no prompt", gen(), grpc.StatusCode.INVALID_ARGUMENT, "'prompt' or 'prompt_ids' is required"),
            ("prompt id", gen(prompt_ids=pb.TokenIds(ids=[1, 10 ** 9])), grpc.StatusCode.INVALID_ARGUMENT,
             "outside [0,"),
            ("prompt too long", gen(prompt="word " * 5000), grpc.StatusCode.INVALID_ARGUMENT,
             "maximum context length"),
            ("kv policy", gen(prompt="x", kv=pb.KvOptions(policy="lru")), grpc.StatusCode.INVALID_ARGUMENT,
             "kv_policy"),
            ("chat role", lambda: list(stub.Chat(pb.ChatRequest(messages=[pb.ChatMessage(role="robot", content="hi")]),
                                                 timeout=30)),
             grpc.StatusCode.INVALID_ARGUMENT, "role"),
            ("no messages", lambda: list(stub.Chat(pb.ChatRequest(), timeout=30)),
             grpc.StatusCode.INVALID_ARGUMENT, "must not be empty"),
        ]:
            e = rpc_error(call)
            check(e is not None and e.code() == code and words in e.details(),
                  f"{what}: {e.code() if e else None} {e.details() if e else 'no error'!r}")
            if e is not None:
                print(f"{what}: {e.code().name}: {e.details()}")

        # A cancelled stream frees its sequence within an engine step.
        stream = stub.Generate(pb.GenerateRequest(prompt="The Congress", sampling=pb.SamplingParams(
            max_tokens=2000, ignore_eos=True)), timeout=60)
        next(stream)
        stream.cancel()
        deadline = time.time() + 10
        while time.time() < deadline and (metric(daemon.port, "vllm:num_requests_running") != 0 or
                                          metric(daemon.port, 'trimserve_kv_pages{state="used"}') != 0):
            time.sleep(0.05)
        check(metric(daemon.port, "vllm:num_requests_running") == 0, "the cancelled request still runs")
        check(metric(daemon.port, 'trimserve_kv_pages{state="used"}') == 0, "pages still used after cancel")
        # ... and the daemon serves on.
        again = list(stub.Generate(pb.GenerateRequest(prompt="The Congress", sampling=greedy), timeout=60))
        check([t for c in again for t in c.token_ids] == ids, "greedy output changed after the cancel")

        # health and reflection
        check(grpc_stubs.health(channel) == "SERVING", "health of '' is not SERVING")
        check(grpc_stubs.health(channel, "trimserve.v1.Inference") == "SERVING", "health of the service")
        reflect = channel.stream_stream("/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
                                        request_serializer=lambda b: b, response_deserializer=lambda b: b)
        listed = next(reflect(iter([b"\x3a\x00"]), timeout=10))  # list_services = ""
        check(b"trimserve.v1.Inference" in listed, f"reflection lists {listed!r}")

    finally:
        channel.close()
        if daemon.proc.poll() is None:
            daemon.stop()

    # SIGTERM: the stream in flight finishes; new calls and health say the server is going.
    # The `large` tiny model generates slowly enough (a few hundred tokens/s on 2 cores) for
    # 1000 tokens to be still running when the signal lands; the drain waits up to 120 s.
    daemon = Daemon(tmp, model="large",
                    config=DEFAULT_CONFIG.replace("server:\n", "server:\n  drain_timeout_s: 120\n"))
    channel = grpc.insecure_channel(daemon.grpc_target)
    stub = pbg.InferenceStub(channel)
    try:
        slow = stub.Generate(pb.GenerateRequest(prompt="The Congress", sampling=pb.SamplingParams(
            max_tokens=1000, ignore_eos=True)), timeout=180)
        first = next(slow)
        daemon.proc.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        state = grpc_stubs.health(channel)
        check(state == "NOT_SERVING", f"health while draining: {state}; daemon log:\n" +
              "".join(line for line in daemon.log if "[access]" not in line))
        e = rpc_error(lambda: list(stub.Generate(pb.GenerateRequest(prompt="x", sampling=greedy), timeout=10)))
        check(e is not None and e.code() == grpc.StatusCode.UNAVAILABLE, f"a new call while draining: {e}")
        if e is not None:
            print(f"while draining: {e.code().name}: {e.details()}")
        rest = list(slow)
        check(rest and rest[-1].finish_reason == "length" and
              len(first.token_ids) + sum(len(c.token_ids) for c in rest) == 1000,
              "the stream in flight did not finish while draining")
        check(daemon.proc.wait(timeout=150) == 0, "exit code after SIGTERM")
    finally:
        channel.close()
        if daemon.proc.poll() is None:
            daemon.stop()

    # tenants: keys, allowed models, rate limits
    config = DEFAULT_CONFIG + ("tenants:\n"
                               "  - name: acme\n    api_keys: [sk-acme]\n    limits: {requests_per_min: 2}\n"
                               "  - name: globex\n    api_keys: [sk-globex]\n    allowed_models: [elsewhere]\n")
    daemon = Daemon(tmp, config=config)
    channel = grpc.insecure_channel(daemon.grpc_target)
    stub = pbg.InferenceStub(channel)
    try:
        def generate(key):
            md = [("authorization", f"Bearer {key}")] if key else []
            return lambda: list(stub.Generate(pb.GenerateRequest(prompt="x", sampling=greedy),
                                              metadata=md, timeout=30))
        e = rpc_error(generate(None))
        check(e is not None and e.code() == grpc.StatusCode.UNAUTHENTICATED, f"no key: {e}")
        e = rpc_error(generate("sk-wrong"))
        check(e is not None and e.code() == grpc.StatusCode.UNAUTHENTICATED, f"wrong key: {e}")
        e = rpc_error(generate("sk-globex"))
        check(e is not None and e.code() == grpc.StatusCode.PERMISSION_DENIED, f"model not allowed: {e}")
        check(rpc_error(generate("sk-acme")) is None and rpc_error(generate("sk-acme")) is None,
              "acme's first two requests")
        e = rpc_error(generate("sk-acme"))
        check(e is not None and e.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, f"third request: {e}")
        if e is not None:
            pushback = dict(e.trailing_metadata() or ()).get("grpc-retry-pushback-ms")
            check(pushback is not None and int(pushback) > 0, f"retry pushback {pushback!r}")
            print(f"rate limited: {e.details()} (grpc-retry-pushback-ms {pushback})")
        # sessions are the caller's own: another tenant's id is NOT_FOUND
        md = [("authorization", "Bearer sk-globex")]
        e = rpc_error(lambda: stub.GetSession(pb.SessionRequest(session_id="s1"), metadata=md, timeout=10))
        check(e is not None and e.code() == grpc.StatusCode.NOT_FOUND, f"unknown session: {e}")
    finally:
        channel.close()
        check(daemon.stop() == 0, "exit code")

if problems:
    sys.exit(1)
print("grpc_api_test: ok")
