#!/bin/bash
# The lab's artifact mirror: upstream release files rebuilt from what this environment offers
# (Debian packages), laid out under the same paths as their upstream URLs, and served over HTTP
# on the lab bridge. The lab inventory points kplay's `mirror` setting at it, with the lab's own
# versions and checksums.
#
# usage: mirror.sh build | serve | stop
#   env: LAB (state dir), MIRROR_ADDR (serve address, default 10.77.0.1:8080: the bridge that
#        `lab.sh up` creates; use e.g. 127.0.0.1:18080 when no lab is up)
# build: $LAB/mirror, cached (only what is missing is rebuilt), plus $LAB/mirror/SHA256SUMS.
#        Tarballs are byte-reproducible: the same Debian package gives the same sha256.
# serve: starts $LAB/bin/mirrorserve (built from lab/mirrorserve) in the background.
set -euo pipefail
LAB=${LAB:-/var/tmp/kplay-lab}
MIRROR_ADDR=${MIRROR_ADDR:-10.77.0.1:8080}
M=$LAB/mirror
ROOT=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)
BIN=$LAB/bin/mirrorserve
PIDFILE=$LAB/run/mirror.pid
ETCD_VERSION=${ETCD_VERSION:-3.4.23}
TMP=
trap '[ -z "$TMP" ] || rm -rf "$TMP"' EXIT

# fetch_debs DIR PKG...: apt-get download, refreshing the package lists once if it fails.
fetch_debs() {
  local dir=$1; shift
  # apt drops to _apt for downloads and warns when that user cannot write the directory.
  id _apt >/dev/null 2>&1 && chown _apt "$dir"
  (cd "$dir" && apt-get download -q "$@") ||
    { apt-get update -q && (cd "$dir" && apt-get download -q "$@"); }
}

# upstream_version DEB: 3.4.23 from 3.4.23-4+b4 (no epoch, no Debian revision).
upstream_version() {
  local v; v=$(dpkg-deb -f "$1" Version)
  v=${v#*:}; echo "${v%-*}"
}

# pack_tgz SRCDIR TOPDIR OUT: a tarball that depends only on file names, modes and contents.
pack_tgz() {
  tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner --format=gnu \
    -C "$1" -cf - "$2" | gzip -n -9 > "$3.tmp"
  mv "$3.tmp" "$3"
}

# listed_and_intact PATH: the file exists and matches its SHA256SUMS line, if it has one.
listed_and_intact() {
  local rel=${1#"$M"/}
  [ -f "$1" ] || return 1
  [ -f "$M/SHA256SUMS" ] || return 0
  grep -q "  $rel\$" "$M/SHA256SUMS" || return 0
  (cd "$M" && grep "  $rel\$" SHA256SUMS | sha256sum -c --quiet >/dev/null 2>&1)
}

build_etcd() {
  local arch name out tmp v deb
  arch=$(dpkg --print-architecture)
  name=etcd-v$ETCD_VERSION-linux-$arch
  out=$M/github.com/etcd-io/etcd/releases/download/v$ETCD_VERSION/$name.tar.gz
  listed_and_intact "$out" && { echo "cached: ${out#"$M"/}" >&2; return 0; }

  tmp=$(mktemp -d); TMP=$tmp; chmod 0755 "$tmp"
  mkdir -p "$tmp/deb" "$tmp/x" "$tmp/pack/$name"
  fetch_debs "$tmp/deb" etcd-server etcd-client >&2
  for deb in "$tmp"/deb/*.deb; do
    v=$(upstream_version "$deb")
    if [ "$v" != "$ETCD_VERSION" ]; then
      echo "mirror: $(basename "$deb") is etcd $v, not $ETCD_VERSION (set ETCD_VERSION)" >&2
      return 1
    fi
    dpkg -x "$deb" "$tmp/x"
  done
  chmod 0755 "$tmp/pack/$name"
  install -m 0755 "$tmp/x/usr/bin/etcd" "$tmp/x/usr/bin/etcdctl" "$tmp/pack/$name/"
  mkdir -p "$(dirname "$out")"
  pack_tgz "$tmp/pack" "$name" "$out"
  echo "built: ${out#"$M"/}" >&2
}

write_sums() {
  (cd "$M" && find . -type f ! -name SHA256SUMS ! -name '*.tmp' -printf '%P\n' | LC_ALL=C sort |
    xargs -r -d '\n' sha256sum) > "$M/SHA256SUMS.tmp"
  mv "$M/SHA256SUMS.tmp" "$M/SHA256SUMS"
}

cmd_build() {
  mkdir -p "$M"
  build_etcd
  write_sums
  grep "etcd-v$ETCD_VERSION-linux-" "$M/SHA256SUMS"
}

# server_pid: the pid of our running mirrorserve, or nothing (a stale pid file is not ours).
server_pid() {
  local pid
  [ -f "$PIDFILE" ] || return 0
  pid=$(cat "$PIDFILE")
  [ "$(readlink "/proc/$pid/exe" 2>/dev/null)" = "$BIN" ] && echo "$pid"
  return 0
}

answers() { curl -sf -o /dev/null --max-time 2 "http://$MIRROR_ADDR/SHA256SUMS"; }

cmd_serve() {
  local pid
  [ -f "$M/SHA256SUMS" ] || { echo "mirror: nothing at $M: run mirror.sh build" >&2; exit 1; }
  pid=$(server_pid)
  if [ -n "$pid" ]; then
    if [ "$(cat "$LAB/run/mirror.addr" 2>/dev/null)" != "$MIRROR_ADDR" ]; then
      echo "mirror: already serving on $(cat "$LAB/run/mirror.addr"); run mirror.sh stop" >&2
      exit 1
    fi
    answers && { echo "mirror: already serving http://$MIRROR_ADDR/ (pid $pid)"; exit 0; }
  fi
  mkdir -p "$LAB/bin" "$LAB/run"
  (cd "$ROOT" && go build -o "$BIN" ./lab/mirrorserve)
  [ -z "$pid" ] || cmd_stop >/dev/null

  # The server outlives this script: its own session, and none of the caller's files (a caller
  # reading our stdout would otherwise wait for the server to stop). setsid execs in place here,
  # so $! is the server's pid.
  ( close_fds; exec setsid "$BIN" -addr "$MIRROR_ADDR" -dir "$M" ) \
    </dev/null >>"$LAB/run/mirror.log" 2>&1 &
  pid=$!
  echo "$pid" > "$PIDFILE"; echo "$MIRROR_ADDR" > "$LAB/run/mirror.addr"
  for _ in $(seq 1 100); do
    alive "$pid" || break   # e.g. the address is taken or not allowed
    # Until setsid has exec'd, the pid is still a shell; a reply then would be someone else's.
    [ "$(server_pid)" = "$pid" ] && answers &&
      { echo "mirror: serving http://$MIRROR_ADDR/ (pid $pid)"; exit 0; }
    sleep 0.1
  done
  echo "mirror: server did not answer on $MIRROR_ADDR; log:" >&2
  tail -5 "$LAB/run/mirror.log" >&2
  cmd_stop >/dev/null
  exit 1
}

close_fds() {
  local f
  for f in /proc/$BASHPID/fd/*; do
    f=${f##*/}
    [ "$f" -gt 2 ] && eval "exec $f>&-" 2>/dev/null || true
  done
}

alive() { [ -e /proc/"$1" ] && ! grep -q '^State:.*Z' /proc/"$1"/status 2>/dev/null; }

cmd_stop() {
  local pid; pid=$(server_pid)
  if [ -n "$pid" ]; then
    kill -TERM "$pid"
    for _ in $(seq 1 50); do alive "$pid" || break; sleep 0.1; done
    alive "$pid" && kill -KILL "$pid"
  fi
  rm -f "$PIDFILE" "$LAB/run/mirror.addr"
  echo "mirror: stopped"
}

case "${1:-}" in
  build) cmd_build ;;
  serve) cmd_serve ;;
  stop) cmd_stop ;;
  *) echo "usage: $0 build | serve | stop" >&2; exit 2 ;;
esac
