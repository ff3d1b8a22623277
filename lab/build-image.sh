#!/bin/bash
# Build the lab's base root filesystem: Debian bookworm (minbase) with systemd, sshd, and the OS
# packages the kplay roles expect on a node. Kubernetes, etcd, containerd and nginx are NOT in the
# image: the playbook must bring them from the stage, as on a real node.
#
# A finished image carries a stamp (hash of this script and of the lab's public key); a second run
# with the same script and key does nothing, so callers can run this before every lab.
# python3 is there only so Ansible can run against the same hosts in comparison benchmarks;
# kplay itself needs nothing on a node but a POSIX shell and coreutils.
#
# Needs: debootstrap systemd-container openssh-client (apt). Run as root.
# usage: build-image.sh    (env: LAB, APT_MIRROR defaults to this machine's apt mirror, FORCE=1)
set -euo pipefail
LAB=${LAB:-/var/tmp/kplay-lab}
B=$LAB/images/base
STAMP=$LAB/images/base.stamp
SELF=$(readlink -f "${BASH_SOURCE[0]}")
APT_MIRROR=${APT_MIRROR:-${MIRROR:-}}
[ -n "$APT_MIRROR" ] ||
  APT_MIRROR=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
[ -n "$APT_MIRROR" ] || APT_MIRROR=$(awk '/^deb / {print $2; exit}' /etc/apt/sources.list)

stamp_text() {
  echo "script $(sha256sum "$SELF" | cut -d' ' -f1)"
  echo "key $(sha256sum "$LAB/keys/id_ed25519.pub" | cut -d' ' -f1)"
}

image_current() {
  [ -z "${FORCE:-}" ] && [ -f "$STAMP" ] && [ -d "$B/etc" ] && [ -f "$LAB/keys/id_ed25519.pub" ] &&
    [ "$(cat "$STAMP")" = "$(stamp_text)" ]
}

# An overlay of a running lab host reads the image: replacing it underneath would corrupt the host.
image_in_use() {
  grep -q "lowerdir=$B[,: ]" /proc/mounts
}

# debootstrap mounts /proc and /sys inside its target; an interrupted build can leave them behind,
# and rm -rf must never walk into them.
unmount_under() { # dir
  awk -v p="$1/" 'index($2, p) == 1 {print $2}' /proc/mounts | sort -r |
    while read -r m; do umount "$m" 2>/dev/null || umount -l "$m"; done
}

mkdir -p "$LAB/images" "$LAB/keys"
exec 9>"$LAB/images/.build.lock"
flock 9   # a concurrent run waits, then finds the image stamped

if image_current; then
  echo "base image up to date: $B (root key: $LAB/keys/id_ed25519)"
  exit 0
fi
if image_in_use; then
  echo "base image $B is the lower layer of a running lab: run lab.sh down first" >&2
  exit 1
fi

rm -f "$STAMP"
[ -f "$LAB/keys/id_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C kplay-lab -f "$LAB/keys/id_ed25519"
[ -f "$LAB/keys/id_ed25519.pub" ] || ssh-keygen -y -f "$LAB/keys/id_ed25519" > "$LAB/keys/id_ed25519.pub"

# Build beside the old image and swap at the end, so an interrupted build leaves no half image.
N=$B.build
unmount_under "$N"
rm -rf --one-file-system "$N"

debootstrap --variant=minbase \
  --include=systemd,systemd-sysv,dbus,openssh-server,openssh-sftp-server,sudo,iproute2,iputils-ping,procps,kmod,ca-certificates,curl,netbase,iptables,ipset,conntrack,socat,ebtables,ethtool,libseccomp2,python3 \
  bookworm "$N" "$APT_MIRROR"
unmount_under "$N"

# Each host makes its own ssh host keys and machine-id at first boot.
rm -f "$N"/etc/ssh/ssh_host_*
mkdir -p "$N/etc/systemd/system/ssh.service.d"
printf '[Service]\nExecStartPre=\nExecStartPre=/usr/bin/ssh-keygen -A\nExecStartPre=/usr/sbin/sshd -t\n' \
  > "$N/etc/systemd/system/ssh.service.d/lab-hostkeys.conf"
: > "$N/etc/machine-id"; rm -f "$N/var/lib/dbus/machine-id" "$N/etc/hostname"

install -d -m700 "$N/root/.ssh"
install -m600 "$LAB/keys/id_ed25519.pub" "$N/root/.ssh/authorized_keys"
printf 'PermitRootLogin prohibit-password\nPasswordAuthentication no\nUseDNS no\nMaxSessions 64\n' \
  > "$N/etc/ssh/sshd_config.d/lab.conf"

# Nothing periodic or interactive in a lab host.
for u in apt-daily-upgrade.timer apt-daily.timer dpkg-db-backup.timer e2scrub_all.timer fstrim.timer \
         e2scrub_reap.service systemd-pstore.service getty@tty1.service; do
  find "$N/etc/systemd/system" -name "$u" -type l -delete
done

# systemd-nspawn mounts the cgroup v1 controllers read-only; runc needs them writable.
# The writes land in the host's own cgroup subtree that lab.sh made for it.
cat > "$N/etc/systemd/system/lab-cgroup-rw.service" <<'UNIT'
[Unit]
Description=Make cgroup v1 controller mounts writable inside the lab host
DefaultDependencies=no
ConditionVirtualization=systemd-nspawn
Before=sysinit.target
After=local-fs.target

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/bin/sh -c 'for c in /sys/fs/cgroup/*/; do case "$c" in */systemd/|*/unified/) ;; *) mount -o remount,bind,rw "$c" || true;; esac; done'

[Install]
WantedBy=sysinit.target
UNIT
ln -sf /etc/systemd/system/lab-cgroup-rw.service \
  "$N/etc/systemd/system/sysinit.target.wants/lab-cgroup-rw.service"

rm -f "$N"/var/cache/apt/archives/*.deb "$N"/var/cache/apt/*.bin
find "$N/var/lib/apt/lists" -maxdepth 1 -type f ! -name lock -delete
rmdir /run/systemd/nspawn/propagate/* 2>/dev/null || true

unmount_under "$B"
rm -rf --one-file-system "$B"
mv "$N" "$B"
stamp_text > "$STAMP.tmp" && mv "$STAMP.tmp" "$STAMP"   # last: only a complete image is stamped
echo "base image ready: $B (root key: $LAB/keys/id_ed25519)"
