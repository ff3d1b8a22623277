#!/bin/bash
# Install what the lab and the tests need on a fresh Debian machine (run as root). Only
# Debian's archive is used; Go comes with the machine. Safe to run again.
set -euo pipefail
# gcc, make and libc6-dev build nginx-lb from its source on the deploy host.
need="debootstrap systemd-container openssh-client openssh-server openssh-sftp-server curl iproute2 ca-certificates gcc make libc6-dev"
missing=$(for p in $need; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || echo "$p"; done)
if [ -n "$missing" ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
command -v go >/dev/null || { echo "deps: go is not installed (kplay is built with Go 1.26)" >&2; exit 1; }
echo "deps: ok"
