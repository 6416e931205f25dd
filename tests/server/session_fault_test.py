"""Fault test: the daemon's session files (kvpool.sessions.dir) under crashes and a broken
disk.

- kill -9 in the middle of a multi-turn conversation: after a restart the next turn resumes
  from the session's file (cache "disk", cached_tokens > 0) and answers exactly what an
  uninterrupted daemon answers;
- a torn file (truncated by the crash): the turn is recomputed, a warning names the file's
  problem, the file is counted as rejected, and the answer is still the uninterrupted one;
- a session directory that can no longer be written: turns are still served from memory, a
  warning is logged and trimserve_session_files_total{op="write_error"} counts the failures.

Env: TRIMSERVE_SRC, TRIMSERVE_BIN, TRIMSERVE_TINY_MODELS.
"""
import glob
import http.client
import json
import os
import shutil
import signal
import sys
import tempfile
import time

SRC = os.environ.get("TRIMSERVE_SRC", os.getcwd())
sys.path.insert(0, os.path.join(SRC, "tests", "support"))
from checks import check, problems  # noqa: E402
from daemon import DEFAULT_CONFIG, Daemon  # noqa: E402

TURNS = ["My locker code is 4417.", "My sister is called Ana.", "What is my locker code?"]


def chat(port, messages, session):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    c.request("POST", "/v1/chat/completions", headers={"Content-Type": "application/json"},
              body=json.dumps({"model": "tiny", "messages": messages, "max_tokens": 8,
                               "temperature": 0, "session_id": session}))
    r = c.getresponse()
    body = json.loads(r.read())
    assert r.status == 200, body
    return body["choices"][0]["message"]["content"], body["usage"]["prompt_tokens_details"]["cached_tokens"]


def metric(port, name):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    c.request("GET", "/metrics")
    for line in c.getresponse().read().decode().splitlines():
        if line.startswith(name + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def wait_metric(port, name, want, timeout=10.0):
    """The metric once it reaches `want` (session files are written after the reply is sent,
    so a test that acts on them waits for the write), or its last value at the timeout."""
    deadline = time.time() + timeout
    value = metric(port, name)
    while value < want and time.time() < deadline:
        time.sleep(0.02)
        value = metric(port, name)
    return value


def conversation(port, session, turns, replies):
    """Runs `turns` after the history of `replies`; returns [(reply, cached_tokens)]."""
    messages, out = [], []
    for i, user in enumerate(turns):
        messages.append({"role": "user", "content": user})
        if i < len(replies):
            messages.append({"role": "assistant", "content": replies[i]})
            continue
        reply, cached = chat(port, messages, session)
        messages.append({"role": "assistant", "content": reply})
        out.append((reply, cached))
    return out


# Idle sessions' scores decay with idle time (kvpool.idle_decay_per_s), which would make the
# evictions of a resumed turn depend on how long the restart took: off here, so answers
# compare exactly.
BASE = DEFAULT_CONFIG.replace("kvpool:\n", "kvpool:\n  idle_decay_per_s: 0\n")

with tempfile.TemporaryDirectory() as tmp:
    sessions = os.path.join(tmp, "sessions")
    config = BASE.replace("kvpool:\n", f"kvpool:\n  sessions: {{dir: {sessions}}}\n")

    # The uninterrupted conversation, memory only: the reference answers.
    d = Daemon(tmp, config=BASE)
    reference = [r for r, _ in conversation(d.port, "ref", TURNS, [])]
    d.stop()

    # kill -9 after two turns, then the third turn on a new daemon
    d = Daemon(tmp, config=config)
    first = conversation(d.port, "crash", TURNS[:2], [])
    check([r for r, _ in first] == reference[:2], "the first turns differ from the reference")
    saved = wait_metric(d.port, 'trimserve_session_files_total{op="saved"}', 2)
    check(saved == 2, f"session files saved before the crash: {saved}")
    d.proc.send_signal(signal.SIGKILL)
    d.proc.wait()
    files = glob.glob(os.path.join(sessions, "**", "*.tss"), recursive=True)
    check(len(files) == 1, f"session files after the crash: {files}")
    d = Daemon(tmp, config=config)
    third = conversation(d.port, "crash", TURNS, reference[:2])
    check(third[0][0] == reference[2], f"after kill -9: {third[0][0]!r}, uninterrupted {reference[2]!r}")
    check(third[0][1] > 0, "the turn after the restart reused nothing")
    loaded = metric(d.port, 'trimserve_session_files_total{op="loaded"}')
    check(loaded == 1, f"session files loaded: {loaded}")
    print(f"kill -9, restart: third turn resumed from disk (cached_tokens {third[0][1]}), same answer")
    d.proc.send_signal(signal.SIGKILL)
    d.proc.wait()

    # A torn file: truncated to half, as a crash mid-write could leave it.
    files = glob.glob(os.path.join(sessions, "**", "*.tss"), recursive=True)
    with open(files[0], "r+b") as f:
        f.truncate(os.path.getsize(files[0]) // 2)
    d = Daemon(tmp, config=config)
    again = conversation(d.port, "crash", TURNS + ["And my sister?"], reference[:2] + [third[0][0]])
    check(again[0][1] == 0, "a torn file's cache was used")
    rejected = metric(d.port, 'trimserve_session_files_total{op="rejected"}')
    check(rejected == 1, f"rejected session files: {rejected}")
    warned = [l for l in d.log if "warn" in l and "session file" in l]
    check(warned, "no warning about the torn file")
    if warned:
        print("torn file:", warned[0].strip())
    check(d.stop() == 0, "exit code")

    # The session directory becomes unusable (replaced by a plain file): turns are served.
    d = Daemon(tmp, config=config)
    shutil.rmtree(sessions)
    with open(sessions, "w") as f:
        f.write("not a directory")
    served = conversation(d.port, "diskless", TURNS, [])
    check([r for r, _ in served] == reference, "answers changed without a session directory")
    check(served[1][1] > 0, "the session was not kept in memory")
    errors = wait_metric(d.port, 'trimserve_session_files_total{op="write_error"}', 3)
    check(errors == 3, f"write errors counted: {errors}")
    check(d.stop() == 0, "exit code")
    deadline = time.time() + 5  # the log is read by a thread; it reaches the end after exit
    while len([l for l in d.log if "could not persist" in l]) < 3 and time.time() < deadline:
        time.sleep(0.02)
    warned = [l for l in d.log if "could not persist" in l]
    check(len(warned) == 3, f"{len(warned)} warnings for 3 failed writes")
    if warned:
        print("unwritable dir:", warned[0].strip())

if problems:
    sys.exit(1)
print("session_fault_test: ok")
