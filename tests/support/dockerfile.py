"""Reads a Dockerfile as its instructions, for the tests of deploy/Dockerfile* (no container
engine runs on CI's machines, so the tests read what the images would do)."""


def instructions(path):
    """[(INSTRUCTION, arguments)] of a Dockerfile, continuation lines joined, comments dropped."""
    out, pending = [], ""
    for line in open(path):
        if not pending and line.lstrip().startswith("#"):
            continue
        pending += line.rstrip("\n")
        if pending.endswith("\\"):
            pending = pending[:-1]
            continue
        if pending.strip():
            word, _, rest = pending.strip().partition(" ")
            out.append((word.upper(), " ".join(rest.split())))
        pending = ""
    return out
