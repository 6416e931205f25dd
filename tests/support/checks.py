"""Soft assertions for the script tests in tests/: check() records a failure in `problems` and
goes on, so one run reports every problem; the script exits 1 at its end when `problems` is not
empty."""

import time

problems = []


def check(cond, what):
    if not cond:
        problems.append(what)
        print("FAILED:", what)
    return cond


def wait_for(cond, seconds):
    """Polls cond() every 50 ms for up to `seconds`; returns its last value."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        if cond():
            return True
        time.sleep(0.05)
    return cond()
