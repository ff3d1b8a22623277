#!/bin/bash
# The lab's artifact mirror: upstream release files rebuilt from what this environment offers
# (Debian packages and their sources, the Go module proxy), laid out under the same paths as
# their upstream URLs, and served over HTTP on the lab bridge. The lab inventory points kplay's
# `mirror` setting at it, with the lab's own versions and checksums.
#
# usage: mirror.sh build | serve | stop
#   env: LAB (state dir), MIRROR_ADDR (serve address, default 10.77.0.1:8080: the bridge that
#        `lab.sh up` creates; use e.g. 127.0.0.1:18080 when no lab is up),
#        MIRROR_ONLY (build: space-separated artifact names, e.g. "etcd"; default all),
#        *_VERSION (below: each must match what its source offers), KPLAY_SHARED.
# build: $LAB/mirror, cached (only what is missing or damaged is rebuilt), plus SHA256SUMS and
#        artifacts.hcl.inc (the lab inventory's `artifacts` override). Prints one line per
#        artifact in the mirror: NAME VERSION SHA256 PATH. Files are byte-reproducible where
#        the toolchain allows: the same package or module gives the same sha256. A failing
#        artifact is reported and the others are still built; the exit status is then 1.
# serve: starts $LAB/bin/mirrorserve (built from lab/mirrorserve) in the background.
set -euo pipefail
# A failing command inside $(...) must fail the assignment that uses it.
shopt -s inherit_errexit
umask 022
LAB=${LAB:-/var/tmp/kplay-lab}
MIRROR_ADDR=${MIRROR_ADDR:-10.77.0.1:8080}
M=$LAB/mirror
ROOT=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)
BIN=$LAB/bin/mirrorserve
PIDFILE=$LAB/run/mirror.pid
ETCD_VERSION=${ETCD_VERSION:-3.4.23}
K8S_VERSION=${K8S_VERSION:-1.24.6}
CONTAINERD_VERSION=${CONTAINERD_VERSION:-1.6.20}
RUNC_VERSION=${RUNC_VERSION:-1.1.5}
CNI_VERSION=${CNI_VERSION:-1.1.1}
NGINX_VERSION=${NGINX_VERSION:-1.22.1}
CALICO_VERSION=${CALICO_VERSION:-3.24.5}
COREDNS_VERSION=${COREDNS_VERSION:-1.8.6}
PAUSE_VERSION=${PAUSE_VERSION:-3.7}
ARCH=$(dpkg --print-architecture)
GH=github.com

# Every artifact the mirror can hold, in the order of roles/artifacts.hcl: name, version, path
# under $M (that of its upstream URL; images have no URL and sit under images/). The builder of
# each is build_NAME. crictl has no source here and is left out.
ARTIFACTS="
kubernetes_server $K8S_VERSION dl.k8s.io/v$K8S_VERSION/kubernetes-server-linux-$ARCH.tar.gz
kubernetes_node $K8S_VERSION dl.k8s.io/v$K8S_VERSION/kubernetes-node-linux-$ARCH.tar.gz
kubernetes_client $K8S_VERSION dl.k8s.io/v$K8S_VERSION/kubernetes-client-linux-$ARCH.tar.gz
etcd $ETCD_VERSION $GH/etcd-io/etcd/releases/download/v$ETCD_VERSION/etcd-v$ETCD_VERSION-linux-$ARCH.tar.gz
containerd $CONTAINERD_VERSION $GH/containerd/containerd/releases/download/v$CONTAINERD_VERSION/containerd-$CONTAINERD_VERSION-linux-$ARCH.tar.gz
runc $RUNC_VERSION $GH/opencontainers/runc/releases/download/v$RUNC_VERSION/runc.$ARCH
cni_plugins $CNI_VERSION $GH/containernetworking/plugins/releases/download/v$CNI_VERSION/cni-plugins-linux-$ARCH-v$CNI_VERSION.tgz
nginx_source $NGINX_VERSION nginx.org/download/nginx-$NGINX_VERSION.tar.gz
calico_manifest $CALICO_VERSION raw.githubusercontent.com/projectcalico/calico/v$CALICO_VERSION/manifests/calico.yaml
coredns $COREDNS_VERSION images/coredns-v$COREDNS_VERSION.tar
pause $PAUSE_VERSION images/pause-$PAUSE_VERSION.tar
probe 1 images/probe-1.tar
"
# Images are pulled by the container runtime, not staged: they stay out of artifacts.hcl.inc.
IMAGES="coredns pause probe"
# Artifacts that roles/artifacts.hcl pins by sha512: the override carries that sum too, so no
# upstream checksum survives for a lab file of the same version.
SHA512_PINNED="kubernetes_server kubernetes_node kubernetes_client"

TMP=
# RUN: scratch space for one whole build, shared by the builders' subshells.
RUN=
trap 'rm -rf ${TMP:+"$TMP"} ${RUN:+"$RUN"}' EXIT

# new_tmp: a fresh world-readable scratch directory in $TMP, removed on exit.
new_tmp() { TMP=$(mktemp -d); chmod 0755 "$TMP"; }

# artifact_field NAME N: field N (2 version, 3 path) of NAME's line in $ARTIFACTS.
artifact_field() { awk -v n="$1" -v f="$2" '$1 == n {print $f}' <<<"$ARTIFACTS"; }

# fetch_debs DIR PKG...: apt-get download, refreshing the package lists once if it fails.
fetch_debs() {
  local dir=$1; shift
  # apt drops to _apt for downloads and warns when that user cannot write the directory.
  id _apt >/dev/null 2>&1 && chown _apt "$dir"
  (cd "$dir" && apt-get download -q "$@") ||
    { apt-get update -q && (cd "$dir" && apt-get download -q "$@"); }
}

# upstream_version DEB: 1.6.20 from 1.6.20~ds1-1+deb12u3 (no epoch, no Debian revision, no
# repack suffix).
upstream_version() {
  local v; v=$(dpkg-deb -f "$1" Version)
  v=${v#*:}; v=${v%-*}; echo "${v%%[~+]ds*}"
}

# unpack_debs DIR WANT PKG...: downloads the packages into DIR/deb and extracts them into
# DIR/x, refusing any whose upstream version is not WANT.
unpack_debs() {
  local dir=$1 want=$2 deb v; shift 2
  mkdir -p "$dir/deb" "$dir/x"
  fetch_debs "$dir/deb" "$@" >&2
  for deb in "$dir"/deb/*.deb; do
    v=$(upstream_version "$deb")
    if [ "$v" != "$want" ]; then
      echo "mirror: $(basename "$deb") is version $v, not $want (set the *_VERSION variable)" >&2
      return 1
    fi
    dpkg -x "$deb" "$dir/x"
  done
}

# repro_tar ARGS...: tar whose output depends only on file names, modes and contents.
repro_tar() { tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner --format=gnu "$@"; }

# pack_tgz SRCDIR ENTRY OUT: a reproducible tarball of SRCDIR/ENTRY, written atomically.
pack_tgz() {
  mkdir -p "$(dirname "$3")"
  repro_tar -C "$1" -cf - "$2" | gzip -n -9 > "$3.tmp"
  mv "$3.tmp" "$3"
}

# place MODE SRC OUT: copies a file into the mirror atomically.
place() {
  mkdir -p "$(dirname "$3")"
  install -m "$1" "$2" "$3.tmp"
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

# cached NAME: NAME's file is already in the mirror and intact.
cached() {
  local out; out=$M/$(artifact_field "$1" 3)
  listed_and_intact "$out" || return 1
  echo "cached: ${out#"$M"/}" >&2
}

built() { echo "built: $(artifact_field "$1" 3)" >&2; }

build_etcd() {
  local name=etcd-v$ETCD_VERSION-linux-$ARCH
  cached etcd && return 0
  new_tmp
  unpack_debs "$TMP" "$ETCD_VERSION" etcd-server etcd-client
  install -d -m 0755 "$TMP/pack/$name"
  install -m 0755 "$TMP/x/usr/bin/etcd" "$TMP/x/usr/bin/etcdctl" "$TMP/pack/$name/"
  pack_tgz "$TMP/pack" "$name" "$M/$(artifact_field etcd 3)"
  built etcd
}

# k8s_bins: the six release binaries, from lab/build-k8s.sh; its Go build cache under
# $LAB/k8s-build makes this seconds once warm, and the three tarballs of a run share one call.
k8s_bins() {
  local bins=$LAB/k8s-build/bin
  if [ ! -f "$RUN/k8s-bins" ]; then
    LAB=$LAB "$ROOT/lab/build-k8s.sh" "$bins" "$K8S_VERSION" >&2
    touch "$RUN/k8s-bins"
  fi
  echo "$bins"
}

# pack_k8s NAME PART BINARY...: kubernetes-PART-linux-ARCH.tar.gz holding kubernetes/PART/bin/,
# as upstream lays it out (upstream also ships kubeadm, image tarballs and sources: not here).
pack_k8s() {
  local name=$1 part=$2 bins; shift 2
  cached "$name" && return 0
  bins=$(k8s_bins)
  new_tmp
  install -d -m 0755 "$TMP/kubernetes/$part/bin"
  for b in "$@"; do install -m 0755 "$bins/$b" "$TMP/kubernetes/$part/bin/"; done
  pack_tgz "$TMP" kubernetes "$M/$(artifact_field "$name" 3)"
  built "$name"
}

build_kubernetes_server() {
  pack_k8s kubernetes_server server kube-apiserver kube-controller-manager kube-scheduler \
    kubelet kube-proxy kubectl
}
build_kubernetes_node() { pack_k8s kubernetes_node node kubelet kube-proxy kubectl; }
build_kubernetes_client() { pack_k8s kubernetes_client client kubectl; }

# build_containerd: bin/ with the daemon, its shims and ctr, whichever the package has.
build_containerd() {
  local f
  cached containerd && return 0
  new_tmp
  unpack_debs "$TMP" "$CONTAINERD_VERSION" containerd
  install -d -m 0755 "$TMP/pack/bin"
  for f in "$TMP"/x/usr/bin/containerd* "$TMP/x/usr/bin/ctr"; do
    [ -f "$f" ] && install -m 0755 "$f" "$TMP/pack/bin/"
  done
  pack_tgz "$TMP/pack" bin "$M/$(artifact_field containerd 3)"
  built containerd
}

# build_runc: upstream ships the bare binary. Debian's is dynamic (libseccomp2), upstream's
# static: the lab image has the library.
build_runc() {
  cached runc && return 0
  new_tmp
  unpack_debs "$TMP" "$RUNC_VERSION" runc
  place 0755 "$TMP/x/usr/sbin/runc" "$M/$(artifact_field runc 3)"
  built runc
}

# build_cni_plugins: upstream's entries are ./PLUGIN, with no top directory.
build_cni_plugins() {
  cached cni_plugins && return 0
  new_tmp
  unpack_debs "$TMP" "$CNI_VERSION" containernetworking-plugins
  install -d -m 0755 "$TMP/pack"
  install -m 0755 "$TMP"/x/usr/lib/cni/* "$TMP/pack/"
  pack_tgz "$TMP/pack" . "$M/$(artifact_field cni_plugins 3)"
  built cni_plugins
}

# ensure_deb_src: apt-get source needs a deb-src entry. If none is configured, one for this
# machine's own Debian mirror is added, a copy of its first deb entry.
ensure_deb_src() {
  local f=/etc/apt/sources.list.d/kplay-lab-src
  grep -Eqs '^[[:space:]]*(deb-src[[:space:]]|Types:.*deb-src)' /etc/apt/sources.list \
    /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources && return 0
  if compgen -G '/etc/apt/sources.list.d/*.sources' >/dev/null; then
    awk 'FNR == 1 && NR > 1 {exit} /^$/ {exit} /^Types:/ {print "Types: deb-src"; next} {print}' \
      /etc/apt/sources.list.d/*.sources > "$f.sources"
    echo "mirror: added $f.sources" >&2
  else
    sed -n 's/^deb \(.*\)/deb-src \1/p' /etc/apt/sources.list | head -1 > "$f.list"
    echo "mirror: added $f.list" >&2
  fi
  apt-get update -q >&2
}

# build_nginx_source: Debian's orig tarball is the one nginx.org publishes.
build_nginx_source() {
  local orig
  cached nginx_source && return 0
  ensure_deb_src
  new_tmp
  id _apt >/dev/null 2>&1 && chown _apt "$TMP"
  (cd "$TMP" && apt-get source -q --download-only nginx) >&2
  orig=$TMP/nginx_$NGINX_VERSION.orig.tar.gz
  if [ ! -f "$orig" ]; then
    echo "mirror: no nginx_$NGINX_VERSION.orig.tar.gz; Debian has: $(cd "$TMP" && echo *)" >&2
    return 1
  fi
  place 0644 "$orig" "$M/$(artifact_field nginx_source 3)"
  built nginx_source
}

# build_calico_manifest: upstream's file, kept beside the project in ../shared/artifacts.
build_calico_manifest() {
  local d src=
  cached calico_manifest && return 0
  for d in "$ROOT/../shared/artifacts" ${KPLAY_SHARED:+"$KPLAY_SHARED/artifacts" "$KPLAY_SHARED"}; do
    [ -f "$d/calico-v$CALICO_VERSION.yaml" ] && { src=$d/calico-v$CALICO_VERSION.yaml; break; }
  done
  if [ -z "$src" ]; then
    echo "mirror: no calico-v$CALICO_VERSION.yaml in $ROOT/../shared/artifacts (set KPLAY_SHARED)" >&2
    return 1
  fi
  place 0644 "$src" "$M/$(artifact_field calico_manifest 3)"
  built calico_manifest
}

# go_static OUT PKG (in the current module): a static, path-free, reproducible binary.
go_static() {
  CGO_ENABLED=0 GOFLAGS=-buildvcs=false go build -trimpath -ldflags='-s -w' -o "$1" "$2"
}

build_pause() {
  cached pause && return 0
  new_tmp
  install -d -m 0755 "$TMP/root"
  (cd "$ROOT" && go_static "$TMP/root/pause" ./lab/images/pause)
  mkdir -p "$M/images"
  "$ROOT/lab/oci-archive.sh" "$TMP/root" "registry.k8s.io/pause:$PAUSE_VERSION" \
    "$M/$(artifact_field pause 3)" /pause
  built pause
}

# build_probe: the lab's test workload (lab/images/probe), as kplay.lab/probe:1.
build_probe() {
  cached probe && return 0
  new_tmp
  install -d -m 0755 "$TMP/root"
  (cd "$ROOT" && go_static "$TMP/root/probe" ./lab/images/probe)
  mkdir -p "$M/images"
  "$ROOT/lab/oci-archive.sh" "$TMP/root" "kplay.lab/probe:1" "$M/$(artifact_field probe 3)" /probe
  built probe
}

# coredns_bin: CoreDNS from the Go module proxy, through a throw-away module under
# $LAB/coredns-build that requires the release, as `go install` would.
coredns_bin() {
  local work=$LAB/coredns-build/v$COREDNS_VERSION
  export GOCACHE=$LAB/coredns-build/gocache
  mkdir -p "$work" "$GOCACHE"
  (
    cd "$work"
    if [ ! -f .resolved ]; then
      # reflect2 v1.0.1, which the release requires, breaks on Go 1.18 and later; v1.0.2 is
      # its fix, the version Kubernetes 1.24 uses.
      printf 'module kplay.lab/coredns-build\n\ngo 1.17\n\nrequire (\n%s\n%s\n)\n' \
        "	github.com/coredns/coredns v$COREDNS_VERSION" "	github.com/modern-go/reflect2 v1.0.2" \
        > go.mod
      printf '//go:build tools\n\npackage tools\n\nimport _ "github.com/coredns/coredns"\n' \
        > tools.go
      go mod tidy
      touch .resolved
    fi
    go_static coredns github.com/coredns/coredns
  ) >&2
  echo "$work/coredns"
}

build_coredns() {
  local bin
  cached coredns && return 0
  bin=$(coredns_bin)
  new_tmp
  install -d -m 0755 "$TMP/root"
  install -m 0755 "$bin" "$TMP/root/coredns"
  mkdir -p "$M/images"
  "$ROOT/lab/oci-archive.sh" "$TMP/root" "registry.k8s.io/coredns/coredns:v$COREDNS_VERSION" \
    "$M/$(artifact_field coredns 3)" /coredns
  built coredns
}

write_sums() {
  (cd "$M" && find . -type f ! -name SHA256SUMS ! -name artifacts.hcl.inc ! -name '*.tmp' \
    -printf '%P\n' | LC_ALL=C sort | xargs -r -d '\n' sha256sum) > "$M/SHA256SUMS.tmp"
  mv "$M/SHA256SUMS.tmp" "$M/SHA256SUMS"
}

# selected NAME: MIRROR_ONLY is unset or names NAME.
selected() { [ -z "${MIRROR_ONLY:-}" ] || [[ " $MIRROR_ONLY " == *" $1 "* ]]; }

# build_one NAME: runs NAME's builder in a subshell of its own, so that a failure stops that
# artifact only, and adds NAME to $FAILED if it fails. It must not be called under `if`, `&&`
# or `||`: bash ignores errexit in everything such a command runs, even after `set -e`. The
# cleanup trap is set again because a subshell does not inherit it.
build_one() {
  local rc
  set +e
  (set -e; trap '[ -z "$TMP" ] || rm -rf "$TMP"' EXIT; "build_$1")
  rc=$?
  set -e
  [ "$rc" -eq 0 ] && return 0
  echo "mirror: FAILED: $1 (exit $rc)" >&2
  FAILED="$FAILED $1"
}

# write_inc: the lab inventory's `artifacts` override for every artifact in the mirror.
write_inc() {
  local name version path sum
  {
    echo "# Written by lab/mirror.sh build: the lab mirror's files as an override of"
    echo "# roles/artifacts.hcl, the body of the lab inventory's artifacts = { ... }."
    while read -r name version path; do
      [ -n "$name" ] && [ -f "$M/$path" ] || continue
      [[ " $IMAGES " == *" $name "* ]] && continue
      sum=$(sha256sum "$M/$path" | cut -d' ' -f1)
      printf '%s = { version = "%s", sha256 = "%s"' "$name" "$version" "$sum"
      [[ " $SHA512_PINNED " == *" $name "* ]] &&
        printf ', sha512 = "%s"' "$(sha512sum "$M/$path" | cut -d' ' -f1)"
      printf ' }\n'
    done <<<"$ARTIFACTS"
  } > "$M/artifacts.hcl.inc.tmp"
  mv "$M/artifacts.hcl.inc.tmp" "$M/artifacts.hcl.inc"
}

# report: NAME VERSION SHA256 PATH for every artifact in the mirror, from SHA256SUMS.
report() {
  local name version path sum
  while read -r name version path; do
    [ -n "$name" ] || continue
    sum=$(awk -v p="$path" '$2 == p {print $1}' "$M/SHA256SUMS")
    [ -n "$sum" ] && echo "$name $version $sum $path"
  done <<<"$ARTIFACTS"
  echo "crictl: not in the mirror (no source for it here)" >&2
}

cmd_build() {
  local name
  FAILED=
  if [ -n "${MIRROR_ONLY:-}" ]; then
    for name in $MIRROR_ONLY; do
      [ -n "$(artifact_field "$name" 1)" ] ||
        { echo "mirror: MIRROR_ONLY names unknown artifact $name" >&2; exit 2; }
    done
  fi
  mkdir -p "$M"
  RUN=$(mktemp -d)
  for name in $(awk 'NF {print $1}' <<<"$ARTIFACTS"); do
    selected "$name" || continue
    build_one "$name"
  done
  write_sums
  write_inc
  report
  [ -z "$FAILED" ] || { echo "mirror: failed:$FAILED" >&2; exit 1; }
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
