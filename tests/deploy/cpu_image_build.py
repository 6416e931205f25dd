"""Builds deploy/Dockerfile.cpu into a real image and runs it, with buildah (Debian's): no Docker
engine runs on CI's machines, but buildah builds and runs containers without one (vfs storage,
chroot isolation, the host's network), as root.

- Base images: Docker Hub cannot be reached from here, so `debian:12` and `debian:12-slim` are
  made the way Debian's official images are, by debootstrap (--variant=minbase, bookworm, the
  distribution's default mirror), committed as localhost/debian:12 and :12-slim in a private
  store (build-image/storage), which the Dockerfile's FROM lines resolve to since nothing may be
  pulled (--pull=never).
- Build: `buildah bud -f deploy/Dockerfile.cpu` from the repository root (honouring
  .dockerignore), Docker image format (so HEALTHCHECK is kept).
- The image: its config runs the daemon as uid 10001 (the Helm chart's runAsUser) in
  /var/lib/trimserve, exposes 8080 and 50051, has a HEALTHCHECK on /health, and the runtime
  stage holds no compiler and no sources.
- Run: the image's ENTRYPOINT + CMD (ports 0) in a container: it loads the embedded model from
  /opt/trimserve, its HEALTHCHECK command passes inside the container, it serves a chat
  completion over HTTP and a chat over gRPC (`trimserve client`, run inside the container), and
  it drains and exits 0 on SIGTERM.

Run by tests/run-all.sh after CTest, on its own: it uses both cores for about five minutes.
Skipped, with a message, only on a machine that cannot create the namespaces a container needs.
Prints the build time and the image size. Env: TRIMSERVE_SRC.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

SRC = os.environ.get("TRIMSERVE_SRC", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
SRC = os.path.abspath(SRC)
sys.path.insert(0, os.path.join(SRC, "tests", "support"))
from checks import check, problems  # noqa: E402
from daemon import Daemon, wait_exit  # noqa: E402
from daemon_http import call  # noqa: E402

WORK = os.path.join(SRC, "build-image")
BUILDAH = ["buildah", "--root", os.path.join(WORK, "storage"), "--runroot", os.path.join(WORK, "run"),
           "--storage-driver", "vfs"]
IMAGE = "localhost/trimserve:ci-cpu"
# Local names, which the Dockerfile's `FROM debian:12` / `debian:12-slim` resolve to when
# nothing may be pulled.
BASE = "localhost/debian:12"
UID = 10001


def buildah(*args, check_rc=True):
    p = subprocess.run(BUILDAH + list(args), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if check_rc and p.returncode != 0:
        sys.exit(f"FAILED: buildah {' '.join(args)}: exit {p.returncode}\n{p.stdout[-4000:]}")
    return p.stdout.strip()


def make_base_images():
    """debian:12 and debian:12-slim from debootstrap, unless the store has them already."""
    have = subprocess.run(BUILDAH + ["inspect", "--type", "image", BASE + "-slim"],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if have.returncode == 0:
        return
    rootfs = os.path.join(WORK, "rootfs")
    shutil.rmtree(rootfs, ignore_errors=True)
    p = subprocess.run(["debootstrap", "--variant=minbase", "bookworm", rootfs],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if p.returncode != 0:
        sys.exit(f"FAILED: debootstrap: exit {p.returncode}\n{p.stdout[-4000:]}")
    # As the official images: no package lists or caches shipped.
    for d in ("var/lib/apt/lists", "var/cache/apt"):
        for name in os.listdir(os.path.join(rootfs, d)):
            path = os.path.join(rootfs, d, name)
            if os.path.isfile(path):
                os.remove(path)
    ctr = buildah("from", "scratch")
    mnt = buildah("mount", ctr)
    subprocess.run(["cp", "-a", rootfs + "/.", mnt + "/"], check=True)
    buildah("umount", ctr)
    buildah("config", "--cmd", "bash", ctr)
    buildah("commit", "-q", "--rm", ctr, BASE)
    buildah("tag", BASE, BASE + "-slim")
    shutil.rmtree(rootfs)


def descendants(pid):
    """Pids of every process below `pid`."""
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
            children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            out.append(c)
            todo.append(c)
    return out


def cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().split(b"\0")[0].decode()
    except OSError:
        return ""


if os.geteuid() != 0:
    sys.exit("FAILED: cpu_image_build.py runs buildah with vfs storage and chroot isolation: run it as root")
# Chroot isolation needs the namespaces below. A machine that refuses them cannot run any
# container, which says nothing about the image: say so loudly and stop (GPU tests skip the
# same way without a device). Everything after this check fails the run when it fails.
probe = subprocess.run(["unshare", "--mount", "--uts", "--ipc", "--pid", "--fork", "true"],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
if probe.returncode != 0:
    print(f"SKIPPED: this machine cannot create the namespaces a container needs: {probe.stdout.strip()}")
    sys.exit(0)
os.makedirs(WORK, exist_ok=True)
started = time.time()
make_base_images()
base_s = time.time() - started

started = time.time()
p = subprocess.run(BUILDAH + ["bud", "--isolation", "chroot", "--network", "host", "--pull=never",
                              "--layers=false", "--format", "docker", "-f", "deploy/Dockerfile.cpu",
                              "-t", IMAGE, "."], cwd=SRC, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
build_s = time.time() - started
check(p.returncode == 0, f"buildah bud -f deploy/Dockerfile.cpu: exit {p.returncode}\n{p.stdout[-6000:]}")
if p.returncode != 0:
    sys.exit(1)

info = json.loads(buildah("inspect", "--type", "image", IMAGE))
config = info["Docker"]["config"]
print(f"base images {base_s:.0f} s, image build {build_s:.0f} s; image {buildah('images', '--format', '{{.Size}}', IMAGE)}")
check(config.get("User") == f"{UID}:{UID}", f"image user: {config.get('User')}")
check(config.get("WorkingDir") == "/var/lib/trimserve", f"image workdir: {config.get('WorkingDir')}")
check(set(config.get("ExposedPorts", {})) == {"8080/tcp", "50051/tcp"}, f"exposed: {config.get('ExposedPorts')}")
entrypoint, cmd = config.get("Entrypoint"), config.get("Cmd")
check(entrypoint == ["/opt/trimserve/bin/trimserve"] and cmd and cmd[0] == "serve", f"entrypoint {entrypoint} cmd {cmd}")
health = (config.get("Healthcheck") or {}).get("Test") or []
check(health[:1] == ["CMD-SHELL"] and "/health" in " ".join(health), f"healthcheck: {health}")

ctr = buildah("from", "--pull=never", IMAGE)
run_in_ctr = BUILDAH + ["run", "--isolation", "chroot", "--network", "host", ctr, "--"]
try:
    def in_container(*argv):
        return subprocess.run(run_in_ctr + list(argv), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    who = in_container("sh", "-c", "id -u; pwd; command -v g++ cmake || true; ls /src 2>&1 || true")
    lines = who.stdout.split("\n")
    check(lines[:2] == [str(UID), "/var/lib/trimserve"], f"in the container: {who.stdout!r}")
    check("g++" not in who.stdout and "cmake" not in who.stdout and "No such file" in who.stdout,
          f"the runtime image holds no compiler and no sources: {who.stdout!r}")

    argv = entrypoint + cmd
    for flag in ("--port", "--grpc-port"):
        argv[argv.index(flag) + 1] = "0"
    with tempfile.TemporaryDirectory() as tmp:
        daemon = Daemon(tmp, argv=run_in_ctr + argv)
        check(any("model loaded from /opt/trimserve/share/trimserve/models/trimchat-6m" in ln for ln in daemon.log),
              "the container's daemon loaded the embedded model from /opt/trimserve")
        probe = health[1].replace(":8080/", f":{daemon.port}/")
        h = in_container("sh", "-c", probe)
        check(h.returncode == 0, f"HEALTHCHECK `{probe}` in the container: {h.returncode} {h.stdout}")
        status, _, body = call(daemon.port, "POST", "/v1/chat/completions", body={
            "model": "trimchat-6m", "messages": [{"role": "user", "content": "Hello!"}], "max_tokens": 12,
            "temperature": 0})
        check(status == 200, f"chat completion from the host: {status} {body}")
        reply = json.loads(body)["choices"][0]["message"]["content"] if status == 200 else ""
        port = daemon.grpc_target.rsplit(":", 1)[1]
        g = in_container("/opt/trimserve/bin/trimserve", "client", "--target", f"127.0.0.1:{port}",
                         "--prompt", "Hello!", "--json")
        check(g.returncode == 0 and '"text"' in g.stdout, f"trimserve client over gRPC in the container: {g.stdout}")
        print(f"container: HEALTHCHECK {'ok' if h.returncode == 0 else 'FAILED'}; HTTP chat: {reply!r}; gRPC client: {g.stdout.strip()[:160]}")
        # SIGTERM to the daemon itself, as a container engine sends it to the entrypoint.
        inner = [p for p in descendants(daemon.proc.pid) if cmdline(p) == entrypoint[0]]
        check(len(inner) == 1, f"the container's daemon process: {inner}")
        for pid in inner:
            os.kill(pid, signal.SIGTERM)
        rc = wait_exit(daemon.proc, 40)
        check(rc == 0, f"the container exits 0 after SIGTERM: {rc}\n{''.join(daemon.log[-5:])}")
finally:
    buildah("rm", ctr, check_rc=False)
    buildah("rmi", IMAGE, check_rc=False)

if problems:
    sys.exit(1)
print("cpu_image_build: ok")
