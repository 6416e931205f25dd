"""Reads a Dockerfile as its instructions, for the tests of deploy/Dockerfile* that check what
the images would do without building them (tests/deploy/image_steps_test.py, compose_file_test.py)."""


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
