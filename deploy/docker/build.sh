#!/usr/bin/env bash
# The build stage of deploy/Dockerfile and deploy/Dockerfile.cpu. Also run outside any
# container by tests/deploy/image_steps_test.sh, so CI exercises the images' steps on a machine
# with no container engine.
#
#   build.sh PREFIX BUILD_DIR [cmake -D options...]
#
# Installs the build dependencies (deploy/install-deps.sh --build-only), configures BUILD_DIR
# as a release build when it is new, builds the daemon, installs it under PREFIX (bin/trimserve,
# share/trimserve/models/<embedded model>, share/trimserve/trimserve.example.yaml), and writes
# PREFIX/share/trimserve/runtime-packages.txt: the distribution packages that provide the
# shared libraries the binary links (ldd + dpkg -S), which the runtime stage installs
# (deploy/docker/runtime.sh). CUDA's libraries are left out: the CUDA runtime base image has them.
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: build.sh PREFIX BUILD_DIR [cmake -D options...]" >&2; exit 2; }
prefix=$1 build=$2
shift 2
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
bash deploy/install-deps.sh --build-only
if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release "$@"
fi
cmake --build "$build" --target trimserve
cmake --install "$build" --prefix "$prefix" >/dev/null

# Packages of the linked libraries, without the C runtime's and CUDA's (base images bring them).
bin=$prefix/bin/trimserve
if ldd "$bin" | grep -q "not found"; then
  ldd "$bin" | grep "not found" >&2
  echo "build.sh: $bin links libraries that are not installed" >&2
  exit 1
fi
list=$prefix/share/trimserve/runtime-packages.txt
ldd "$bin" | awk '$3 ~ /^\// {print $3}' | grep -v "/cuda" | while read -r lib; do
  dpkg -S "$(readlink -f "$lib")" 2>/dev/null || dpkg -S "$lib" 2>/dev/null || {
    echo "build.sh: no package provides $lib" >&2
    exit 1
  }
done | cut -d: -f1 | sort -u | grep -v -x -E "libc6|libgcc-s1|libstdc\+\+6" >"$list"
echo "build.sh: installed under $prefix; runtime packages: $(tr '\n' ' ' <"$list")"
