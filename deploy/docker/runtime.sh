#!/usr/bin/env bash
# The runtime stage of deploy/Dockerfile and deploy/Dockerfile.cpu:
#
#   runtime.sh PREFIX
#
# installs the packages PREFIX/share/trimserve/runtime-packages.txt names (written by build.sh),
# plus curl for the HEALTHCHECK, and creates the unprivileged user the image runs as
# (trimserve, uid/gid 10001, as the Helm chart's securityContext expects), owning
# /var/lib/trimserve (model cache and session files). Run as root, in the image.
set -euo pipefail
prefix=$1
mapfile -t packages <"$prefix/share/trimserve/runtime-packages.txt"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${packages[@]}" curl
rm -rf /var/lib/apt/lists/*
groupadd --system --gid 10001 trimserve
useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/trimserve --shell /usr/sbin/nologin trimserve
install -d -o trimserve -g trimserve /var/lib/trimserve /var/lib/trimserve/models /var/lib/trimserve/sessions
"$prefix/bin/trimserve" --help >/dev/null  # every library resolves
