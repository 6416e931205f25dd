"""Soft assertions for the script tests in tests/: check() records a failure in `problems` and
goes on, so one run reports every problem; the script exits 1 at its end when `problems` is not
empty."""

problems = []


def check(cond, what):
    if not cond:
        problems.append(what)
        print("FAILED:", what)
    return cond

