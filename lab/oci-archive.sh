#!/bin/bash
# Packs a directory into a one-layer OCI image archive that `ctr -n k8s.io images import`
# accepts, for the lab's offline images (pause, coredns): no registry and no docker needed.
# The archive is byte-reproducible: every tar is sorted, owned by root and dated at epoch 0,
# so the same files give the same image digest.
#
# usage: oci-archive.sh ROOTFS_DIR IMAGE_REF OUT.tar ENTRYPOINT [ARG...]
#   e.g. oci-archive.sh ./pause-root registry.k8s.io/pause:3.7 pause.tar /pause
set -euo pipefail
[ $# -ge 4 ] || { echo "usage: $0 ROOTFS_DIR IMAGE_REF OUT.tar ENTRYPOINT [ARG...]" >&2; exit 2; }
ROOT=$1 REF=$2 OUT=$3; shift 3
umask 022
ENTRY=$(printf '"%s",' "$@"); ENTRY="[${ENTRY%,}]"
D=$(mktemp -d); trap 'rm -rf "$D"' EXIT
chmod 0755 "$D"
mkdir -p "$D/blobs/sha256"

repro_tar() { tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner --format=gnu "$@"; }

# blob FILE: moves FILE into the blob store under its digest and prints "digest size".
blob() {
  local h s; h=$(sha256sum "$1" | cut -d' ' -f1); s=$(stat -c %s "$1")
  chmod 0644 "$1"; mv "$1" "$D/blobs/sha256/$h"; echo "$h $s"
}

repro_tar -C "$ROOT" -cf "$D/layer" .
read -r L LS < <(blob "$D/layer")
printf '{"architecture":"amd64","os":"linux","config":{"Entrypoint":%s,"Env":["PATH=/usr/local/bin:/usr/bin:/bin"]},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' \
  "$ENTRY" "$L" > "$D/config"
read -r C CS < <(blob "$D/config")
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%d},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:%s","size":%d}]}' \
  "$C" "$CS" "$L" "$LS" > "$D/manifest"
read -r M MS < <(blob "$D/manifest")
printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%d,"annotations":{"io.containerd.image.name":"%s","org.opencontainers.image.ref.name":"%s"},"platform":{"architecture":"amd64","os":"linux"}}]}' \
  "$M" "$MS" "$REF" "${REF##*:}" > "$D/index.json"
echo '{"imageLayoutVersion":"1.0.0"}' > "$D/oci-layout"
chmod 0644 "$D/index.json" "$D/oci-layout"
repro_tar -C "$D" -cf "$OUT.tmp" oci-layout index.json blobs
mv "$OUT.tmp" "$OUT"
echo "wrote $OUT ($REF)" >&2
