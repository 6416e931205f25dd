"""The container images' steps, run without a container engine (the CPU image itself is built
and run by tests/deploy/cpu_image_build.py; the CUDA image's base cannot be fetched here):

- deploy/Dockerfile (CUDA) and deploy/Dockerfile.cpu are two-stage builds whose build stage
  runs deploy/docker/build.sh and whose runtime stage copies only the install prefix, runs
  deploy/docker/runtime.sh, and runs as the non-root uid the Helm chart expects, with a
  HEALTHCHECK on /health, the chart's ports exposed, and the daemon as entrypoint;
- deploy/docker/build.sh, run here exactly as the build stage runs it (into a temporary prefix,
  reusing this build), installs a binary whose libraries all resolve, the embedded model, and a
  list of runtime packages that are real, installed packages;
- the installed binary, started with the image's ENTRYPOINT + CMD (ports 0) from an empty
  working directory, loads the embedded model from the prefix, answers the HEALTHCHECK command,
  serves a chat completion, and drains on SIGTERM.

Env: TRIMSERVE_SRC, TRIMSERVE_BUILD.
"""
import json
import os
import shlex
import subprocess
import sys
import tempfile

import yaml

SRC = os.environ.get("TRIMSERVE_SRC", os.getcwd())
BUILD = os.environ.get("TRIMSERVE_BUILD", os.path.join(SRC, "build"))
sys.path.insert(0, os.path.join(SRC, "tests", "support"))
from checks import check, problems  # noqa: E402
from daemon import Daemon  # noqa: E402
from daemon_http import call  # noqa: E402
from dockerfile import instructions  # noqa: E402

IMAGE_PREFIX = "/opt/trimserve"
chart_values = yaml.safe_load(open(os.path.join(SRC, "deploy", "helm", "trimserve", "values.yaml")))

entrypoint, cmd, healthcheck = None, None, None
for name in ("Dockerfile", "Dockerfile.cpu"):
    ins = instructions(os.path.join(SRC, "deploy", name))
    froms = [i for i, (w, _) in enumerate(ins) if w == "FROM"]
    check(len(froms) == 2 and ins[froms[0]][1].endswith(" AS build"), f"{name}: a build stage and a runtime stage")
    build_stage, runtime = ins[froms[0]:froms[1]], ins[froms[1]:] if len(froms) == 2 else []
    check(any(w == "RUN" and a.startswith(f"bash deploy/docker/build.sh {IMAGE_PREFIX} ") for w, a in build_stage),
          f"{name}: the build stage runs deploy/docker/build.sh {IMAGE_PREFIX}")
    check(("COPY", f"--from=build {IMAGE_PREFIX} {IMAGE_PREFIX}") in runtime, f"{name}: the runtime stage copies only {IMAGE_PREFIX}")
    check(any(w == "RUN" and a.startswith(f"bash /tmp/runtime.sh {IMAGE_PREFIX}") for w, a in runtime),
          f"{name}: the runtime stage runs deploy/docker/runtime.sh")
    uid = chart_values["podSecurityContext"]["runAsUser"]
    check(("USER", f"{uid}:{uid}") in runtime, f"{name}: runs as uid {uid} (the chart's runAsUser)")
    expose = [a for w, a in runtime if w == "EXPOSE"]
    ports = chart_values["ports"]
    check(expose == [f"{ports['http']} {ports['grpc']}"], f"{name}: exposes the chart's ports: {expose}")
    hc = [a for w, a in runtime if w == "HEALTHCHECK"]
    check(len(hc) == 1 and "/health" in hc[0], f"{name}: HEALTHCHECK on /health: {hc}")
    ep = [json.loads(a) for w, a in runtime if w == "ENTRYPOINT"]
    cm = [json.loads(a) for w, a in runtime if w == "CMD"]
    check(ep == [[f"{IMAGE_PREFIX}/bin/trimserve"]] and len(cm) == 1, f"{name}: ENTRYPOINT/CMD {ep} {cm}")
    if ep and cm:
        if entrypoint is not None:
            check((ep[0], cm[0]) == (entrypoint, cmd), "both images start the daemon the same way")
        entrypoint, cmd = ep[0], cm[0]
    if hc:
        healthcheck = hc[0].split(" CMD ", 1)[-1]
    p = subprocess.run(["bash", "-n", os.path.join(SRC, "deploy", "docker", "runtime.sh")])
    check(p.returncode == 0, "deploy/docker/runtime.sh parses")

with tempfile.TemporaryDirectory() as tmp:
    prefix = os.path.join(tmp, "opt-trimserve")
    p = subprocess.run(["bash", os.path.join(SRC, "deploy", "docker", "build.sh"), prefix, BUILD],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    check(p.returncode == 0, f"deploy/docker/build.sh failed:\n{p.stdout[-3000:]}")
    print(p.stdout.strip().splitlines()[-1] if p.stdout.strip() else "")
    binary = os.path.join(prefix, "bin", "trimserve")
    model = os.path.join(prefix, "share", "trimserve", "models", "trimchat-6m")
    check(os.path.isfile(os.path.join(model, "model.safetensors")), "the embedded model is installed")
    check(not os.path.exists(os.path.join(model, "eval")), "without its evaluation records")
    packages = open(os.path.join(prefix, "share", "trimserve", "runtime-packages.txt")).read().split()
    check(len(packages) >= 5, f"runtime packages: {packages}")
    for pkg in packages:
        q = subprocess.run(["dpkg-query", "-W", "-f=${Status}", pkg], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        check("install ok installed" in q.stdout, f"runtime package {pkg} is a real, installed package")

    # The image's command, with free ports, from an empty working directory.
    workdir = os.path.join(tmp, "work")
    os.makedirs(workdir)
    argv = [binary] + cmd[:]
    for flag in ("--port", "--grpc-port"):
        argv[argv.index(flag) + 1] = "0"
    daemon = Daemon(tmp, argv=argv, cwd=workdir)
    check(any(f"model loaded from {model}" in ln for ln in daemon.log), "the embedded model came from the install prefix")
    hc_cmd = healthcheck.replace(":8080/", f":{daemon.port}/")
    h = subprocess.run(["sh", "-c", hc_cmd], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    check(h.returncode == 0, f"HEALTHCHECK `{hc_cmd}`: {h.returncode} {h.stdout}")
    status, _, body = call(daemon.port, "POST", "/v1/chat/completions", body={
        "model": "trimchat-6m", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 4})
    check(status == 200, f"chat completion: {status} {body}")
    print(f"installed daemon: {shlex.join(argv[1:])}; HEALTHCHECK ok; chat completion {status}")
    check(daemon.stop() == 0, "exit 0 after SIGTERM")

if problems:
    sys.exit(1)
print("image_steps_test: ok")
