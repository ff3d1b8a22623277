#!/bin/bash
# Builds the real Kubernetes binaries of one release from the Go module proxy, as `go install`
# would if k8s.io/kubernetes had no replace directives: a throw-away wrapper module requires
# k8s.io/kubernetes at the release and pins every staging module (k8s.io/api, ...) to
# v0.MINOR.PATCH. Version strings are stamped as upstream's release build stamps them, so
# `--version` reports the release, and -trimpath keeps the binaries byte-reproducible.
#
# On 2 cores: ~5 minutes cold (module download ~1 min), peak memory ~1.8 GB (the linker),
# 1.6 GB module cache, 2.7 GB build cache, ~470 MB out. Warm it takes seconds: the build cache
# lives under $LAB/k8s-build, and go skips relinking a binary in OUTDIR that is already current.
#
# usage: build-k8s.sh OUTDIR [VERSION]     (VERSION defaults to 1.24.6)
#   env: LAB (default /var/tmp/kplay-lab), WORK (the wrapper module, default
#        $LAB/k8s-build/vVERSION), GOCACHE (default $LAB/k8s-build/gocache);
#        K8S_COMMIT and K8S_BUILD_DATE for a release not listed below.
set -euo pipefail
OUT=$(mkdir -p "$1" && cd "$1" && pwd)
VERSION=${2:-1.24.6}
LAB=${LAB:-/var/tmp/kplay-lab}
WORK=${WORK:-$LAB/k8s-build/v$VERSION}
export GOCACHE=${GOCACHE:-$LAB/k8s-build/gocache}
BINARIES="kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl"
STAGING="api apiextensions-apiserver apimachinery apiserver cli-runtime client-go cloud-provider
cluster-bootstrap code-generator component-base component-helpers controller-manager cri-api
csi-translation-lib kube-aggregator kube-controller-manager kube-proxy kube-scheduler kubectl
kubelet legacy-cloud-providers metrics mount-utils pod-security-admission sample-apiserver"

# The commit and date of the upstream release tag: all another release needs.
case "$VERSION" in
  1.24.6) COMMIT=b39bf148cd654599a52e867485c02c4f9d28b312 DATE=2022-09-21T13:12:04Z ;;
  *) COMMIT=${K8S_COMMIT:?set K8S_COMMIT for $VERSION} DATE=${K8S_BUILD_DATE:?set K8S_BUILD_DATE} ;;
esac
MINOR=${VERSION#*.}; MINOR=${MINOR%%.*}

write_module() {
  echo "module kplay.lab/k8s-build"
  echo
  # An old language version keeps the binaries' runtime defaults (GODEBUG) close to those of
  # the toolchain the release was built with.
  echo "go 1.20"
  echo
  echo "require k8s.io/kubernetes v$VERSION"
  echo
  for m in $STAGING; do echo "replace k8s.io/$m => k8s.io/$m v0.${VERSION#*.}"; done
}

write_imports() {
  printf '//go:build tools\n\npackage tools\n\nimport (\n'
  for b in $BINARIES; do printf '\t_ "k8s.io/kubernetes/cmd/%s"\n' "$b"; done
  echo ")"
}

mkdir -p "$WORK" "$GOCACHE"; cd "$WORK"
# The stamp, not go.sum, marks a finished resolution: an interrupted tidy leaves a partial go.sum.
if [ ! -f .resolved ]; then
  write_module > go.mod
  write_imports > tools.go
  go mod tidy
  touch .resolved
fi

LDFLAGS="-s -w"
for p in k8s.io/client-go/pkg/version k8s.io/component-base/version; do
  LDFLAGS="$LDFLAGS -X $p.gitMajor=1 -X $p.gitMinor=$MINOR -X $p.gitVersion=v$VERSION"
  LDFLAGS="$LDFLAGS -X $p.gitCommit=$COMMIT -X $p.gitTreeState=clean -X $p.buildDate=$DATE"
done
for b in $BINARIES; do
  CGO_ENABLED=0 GOFLAGS=-buildvcs=false go build -trimpath -tags=selinux,notest \
    -ldflags="$LDFLAGS" -o "$OUT/$b" "k8s.io/kubernetes/cmd/$b"
  echo "built $OUT/$b"
done
"$OUT/kube-apiserver" --version
