"""TLS for HTTP and gRPC (server.tls), with a self-signed certificate made here by openssl:

- HTTPS: /health, a chat completion and its SSE stream, to a client trusting the certificate;
  a client that does not trust it fails verification; plain HTTP to the TLS port gets no
  HTTP answer; a client that connects and never starts the handshake is closed after the
  read timeout — and the daemon keeps serving after each of them;
- gRPC over TLS: health SERVING and Chat, from python3-grpcio and from `trimserve client
  --ca-cert`, giving the same greedy reply as HTTPS; a plaintext channel to the TLS port fails;
- bad TLS config stops `serve` with exit 2 and a message naming the key: missing cert file,
  a key that is not the certificate's, a file with no certificate in it.

Env: TRIMSERVE_SRC, TRIMSERVE_BIN, TRIMSERVE_TINY_MODELS.
"""
import http.client
import json
import os
import socket
import ssl
import subprocess
import sys
import tempfile
import time

import grpc

SRC = os.environ.get("TRIMSERVE_SRC", os.getcwd())
sys.path.insert(0, os.path.join(SRC, "tests", "support"))
import grpc_stubs  # noqa: E402
from checks import check, problems  # noqa: E402
from daemon import BIN, DEFAULT_CONFIG, MODELS, Daemon  # noqa: E402

MESSAGES = [{"role": "user", "content": "My locker code is 4417."}]


def make_cert(tmp, name):
    cert, key = os.path.join(tmp, name + ".pem"), os.path.join(tmp, name + ".key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
                    "-keyout", key, "-out", cert], check=True, capture_output=True)
    return cert, key


def tls_config(cert, key):
    return DEFAULT_CONFIG.replace(
        "server:\n  port: 0\n",
        f"server:\n  port: 0\n  tls: {{enabled: true, cert_file: {cert}, key_file: {key}}}\n"
        "  limits:\n    read_timeout_s: 2\n", 1).replace("  limits:\n    max_body_bytes", "    max_body_bytes", 1)


def https(port, cafile, method="GET", path="/health", body=None):
    context = ssl.create_default_context(cafile=cafile)
    c = http.client.HTTPSConnection("127.0.0.1", port, timeout=60, context=context)
    c.request(method, path, body=None if body is None else json.dumps(body),
              headers={"Content-Type": "application/json"})
    r = c.getresponse()
    return r.status, r.read().decode()


def chat_body(stream=False):
    return {"model": "tiny", "messages": MESSAGES, "max_tokens": 8, "temperature": 0, "stream": stream}


def serve_fails(tmp, cert, key, want):
    cfg = os.path.join(tmp, "bad.yaml")
    with open(cfg, "w") as f:
        f.write(tls_config(cert, key))
    p = subprocess.run([BIN, "serve", "--config", cfg, "--model", f"{MODELS}/gqa2-untied-rg",
                        "--grpc-port", "0"], capture_output=True, text=True, timeout=60)
    check(p.returncode == 2 and want in p.stderr, f"bad TLS config: rc {p.returncode}, "
          f"wanted {want!r} in {p.stderr.strip()!r}")
    print("refused:", p.stderr.strip().splitlines()[-1] if p.stderr.strip() else "")


with tempfile.TemporaryDirectory() as tmp:
    cert, key = make_cert(tmp, "server")
    other_cert, other_key = make_cert(tmp, "other")
    pb, pbg = grpc_stubs.load(tmp)
    daemon = Daemon(tmp, config=tls_config(cert, key))
    try:
        check(any("tls=on" in line for line in daemon.log), "the listening line says tls=on")
        status, body = https(daemon.port, cert)
        check(status == 200, f"HTTPS /health: {status} {body}")
        status, body = https(daemon.port, cert, "POST", "/v1/chat/completions", chat_body())
        check(status == 200, f"HTTPS chat: {status} {body}")
        reply = json.loads(body)["choices"][0]["message"]["content"] if status == 200 else None
        print("HTTPS chat reply:", repr(reply))
        status, body = https(daemon.port, cert, "POST", "/v1/chat/completions", chat_body(True))
        deltas = [json.loads(l[6:])["choices"][0]["delta"].get("content", "")
                  for l in body.splitlines() if l.startswith("data: {")]
        check(status == 200 and body.rstrip().endswith("data: [DONE]") and "".join(deltas) == reply,
              f"HTTPS stream: {status}, text {''.join(deltas)!r}")

        # A client that does not trust the certificate.
        try:
            https(daemon.port, other_cert)
            check(False, "a client trusting another certificate connected")
        except ssl.SSLCertVerificationError as e:
            print("untrusted client:", e.verify_message)
        # Plain HTTP to the TLS port: no HTTP answer.
        c = http.client.HTTPConnection("127.0.0.1", daemon.port, timeout=10)
        try:
            c.request("GET", "/health")
            r = c.getresponse()
            check(False, f"plain HTTP got an answer: {r.status}")
        except (http.client.HTTPException, ConnectionError, OSError) as e:
            print("plain HTTP to the TLS port:", type(e).__name__)
        # Connects, never starts the handshake: closed after read_timeout_s (2 s).
        s = socket.create_connection(("127.0.0.1", daemon.port))
        s.settimeout(10)
        started = time.time()
        try:
            closed = s.recv(1) == b""
        except (ConnectionError, socket.timeout):
            closed = False
        check(closed and time.time() - started < 8, f"silent client closed: {closed} "
              f"after {time.time() - started:.1f} s")
        s.close()
        status, _ = https(daemon.port, cert)
        check(status == 200, "HTTPS still served after the bad clients")

        # gRPC over TLS, python3-grpcio.
        with open(cert, "rb") as f:
            creds = grpc.ssl_channel_credentials(root_certificates=f.read())
        channel = grpc.secure_channel(daemon.grpc_target, creds)
        check(grpc_stubs.health(channel) == "SERVING", "gRPC TLS health")
        stub = pbg.InferenceStub(channel)
        chunks = list(stub.Chat(pb.ChatRequest(
            messages=[pb.ChatMessage(**m) for m in MESSAGES],
            sampling=pb.SamplingParams(max_tokens=8, temperature=0)), timeout=60))
        check("".join(c.text for c in chunks) == reply, "gRPC TLS chat equals HTTPS")
        plain = grpc.insecure_channel(daemon.grpc_target)
        code = grpc_stubs.health(plain)
        check(code == grpc.StatusCode.UNAVAILABLE, f"plaintext channel to the TLS port: {code}")
        plain.close()
        channel.close()

        # gRPC over TLS, the project's client.
        run = lambda *a: subprocess.run([BIN, "client", "--target", daemon.grpc_target, "--prompt",  # noqa: E731
                                         "My locker code is 4417.", "--max-tokens", "8",
                                         "--temperature", "0", "--timeout", "20", *a],
                                        capture_output=True, text=True, timeout=60)
        p = run("--ca-cert", cert)
        check(p.returncode == 0 and p.stdout == f"{reply}\n", f"client --ca-cert: {p.returncode} "
              f"{p.stdout!r} {p.stderr!r}")
        p = run()
        check(p.returncode == 1 and "UNAVAILABLE" in p.stderr, f"plaintext client: {p.returncode} {p.stderr!r}")
        p = run("--ca-cert", os.path.join(tmp, "none.pem"))
        check(p.returncode == 2 and "--ca-cert: cannot read" in p.stderr, f"missing CA file: {p.stderr!r}")
    finally:
        rc = daemon.stop()
        check(rc == 0, f"daemon exit code {rc}")
        if problems:
            print("".join(daemon.log[-30:]))

    serve_fails(tmp, os.path.join(tmp, "missing.pem"), key, "server.tls.cert_file: cannot read")
    serve_fails(tmp, cert, other_key, "server.tls.key_file: the key in")
    garbage = os.path.join(tmp, "garbage.pem")
    with open(garbage, "w") as f:
        f.write("not a certificate\n")
    serve_fails(tmp, garbage, key, "server.tls.cert_file: '")

if problems:
    sys.exit(1)
print("tls_test: ok")
