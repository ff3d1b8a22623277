#!/bin/bash
# A lab of N test hosts on one machine: each is systemd-nspawn booting the base image from
# build-image.sh, with its own overlay root, network namespace, hostname, machine-id, systemd and
# sshd. Hosts are n1..nN at 10.77.0.11.. on bridge kplaylab0; this machine is 10.77.0.1 on it.
# A policy-routing rule keeps lab traffic inside the lab.
#
# usage: lab.sh up [N] | down | status | exec HOST CMD... | ssh-opts
#   env: LAB (state dir), FAST=1 (hard stop), BR NET RT CG (names, for a second lab on one machine)
# `up` always starts from a clean slate: it first removes whatever an earlier lab of this $LAB
# left, even one whose launcher was killed. After `up`, $LAB/known_hosts holds every host's keys
# and $LAB/keys/id_ed25519 logs in as root.
set -euo pipefail
LAB=${LAB:-/var/tmp/kplay-lab}
LOWER=${LOWER:-$LAB/images/base}
BR=${BR:-kplaylab0}
NET=${NET:-10.77.0}
RT=${RT:-4277}
CG=${CG:-kplaylab}
HIER=${HIER:-systemd unified cpu cpuacct cpuset memory devices freezer blkio pids}
KEY=$LAB/keys/id_ed25519
# Nodes cannot load modules themselves (no /lib/modules, no CAP_SYS_MODULE).
MODULES=${MODULES:-overlay br_netfilter nf_conntrack}

hostip() { echo "$NET.$((10 + $1))"; }

alive() { [ -e /proc/"$1" ] && ! grep -q '^State:.*Z' /proc/"$1"/status 2>/dev/null; }

# A pid from a pid file is ours only if it still sits in the host's cgroup: pids get reused.
in_host_cgroup() { # pid name
  grep -Eq "/$CG/$2(/|\$)" /proc/"$1"/cgroup 2>/dev/null
}

bridge_up() {
  ip link add "$BR" type bridge
  ip addr add "$NET.1/24" dev "$BR"
  ip link set "$BR" up
  ip route add "$NET.0/24" dev "$BR" table "$RT"
  ip route add unreachable default table "$RT"
  ip rule add iif "$BR" lookup "$RT" pref "$RT"
  echo "$BR" > "$LAB/run/bridge"
}

bridge_down() {
  while ip rule del pref "$RT" 2>/dev/null; do :; done
  ip route flush table "$RT" 2>/dev/null || true
  ip link del "$BR" 2>/dev/null || true
  rm -f "$LAB/run/bridge"
}

# A bridge with ports that this $LAB did not create belongs to someone else's lab: leave it be.
bridge_foreign() {
  ip link show "$BR" >/dev/null 2>&1 || return 1
  [ -e "$LAB/run/bridge" ] && return 1
  [ -n "$(ip -o link show master "$BR" 2>/dev/null)" ]
}

load_modules() {
  local m
  for m in $MODULES; do
    [ -e "/sys/module/$m" ] && continue
    command -v modprobe >/dev/null && modprobe -q "$m" 2>/dev/null || true
    [ -e "/sys/module/$m" ] || echo "lab: kernel module $m is not loaded (nodes may need it)" >&2
  done
}

raise_inotify() {
  # Each booted systemd takes ~7 inotify instances; the default of 128 stops near 18 hosts.
  if [ "$(cat /proc/sys/fs/inotify/max_user_instances)" -lt 8192 ]; then
    [ -e "$LAB/run/inotify.orig" ] ||
      cat /proc/sys/fs/inotify/max_user_instances > "$LAB/run/inotify.orig"
    sysctl -qw fs.inotify.max_user_instances=8192
  fi
}

restore_inotify() {
  [ -e "$LAB/run/inotify.orig" ] || return 0
  sysctl -qw fs.inotify.max_user_instances="$(cat "$LAB/run/inotify.orig")"
  rm -f "$LAB/run/inotify.orig"
}

# The kernel settings kubelet insists on. A lab host cannot write /proc/sys outside net.*,
# and kubelet only writes these when they differ, so they are set here for the lab's life and
# put back by `down`.
KUBELET_SYSCTLS="vm.overcommit_memory=1 kernel.panic=10 kernel.panic_on_oops=1"

set_kubelet_sysctls() {
  local kv k
  for kv in $KUBELET_SYSCTLS; do
    k=${kv%%=*}
    [ -e "$LAB/run/sysctl.$k.orig" ] || sysctl -n "$k" > "$LAB/run/sysctl.$k.orig"
    sysctl -qw "$kv"
  done
}

restore_kubelet_sysctls() {
  local kv k
  for kv in $KUBELET_SYSCTLS; do
    k=${kv%%=*}
    [ -e "$LAB/run/sysctl.$k.orig" ] || continue
    sysctl -qw "$k=$(cat "$LAB/run/sysctl.$k.orig")"
    rm -f "$LAB/run/sysctl.$k.orig"
  done
}

write_hosts() { # rootfs N
  {
    echo "127.0.0.1 localhost"
    echo "::1 localhost ip6-localhost ip6-loopback"
    echo "$NET.1 deploy"
    for j in $(seq 1 "$2"); do echo "$(hostip "$j") n$j"; done
  } > "$1/etc/hosts"
}

# cgroup_base HIERARCHY: where this lab's subtree lives, under the caller's own cgroup.
cgroup_base() {
  local cur
  cur=$(awk -F: -v h="$1" '$2==h || ($2=="" && h=="unified") || ($2=="name=systemd" && h=="systemd") {print $3}' \
    /proc/self/cgroup | head -1)
  cur=${cur%/}; cur=${cur#/}
  echo "/sys/fs/cgroup/$1${cur:+/$cur}/$CG"
}

# A cgroup subtree of its own in every hierarchy, so systemd and runc inside get a private one.
host_cgroups() { # name hostdir
  local h base
  : > "$2/cgroups"
  for h in $HIER; do
    [ -d "/sys/fs/cgroup/$h" ] || continue
    base=$(cgroup_base "$h")
    mkdir -p "$base/$1"
    grep -qxF "$base" "$LAB/run/cgroup-bases" 2>/dev/null || echo "$base" >> "$LAB/run/cgroup-bases"
    if [ "$h" = cpuset ]; then
      for f in cpus mems; do
        cat /sys/fs/cgroup/cpuset/cpuset.$f > "$base/cpuset.$f"
        cat /sys/fs/cgroup/cpuset/cpuset.$f > "$base/$1/cpuset.$f"
      done
    fi
    echo "$base/$1" >> "$2/cgroups"
  done
}

host_up() { # index N
  local i=$1 n=n$1 ip d ns
  ip=$(hostip "$i"); d=$LAB/hosts/$n; ns=$LAB/run/netns/$n
  mkdir -p "$d/upper" "$d/work" "$d/root" "$LAB/run/netns"
  mount -t overlay overlay -o "lowerdir=$LOWER,upperdir=$d/upper,workdir=$d/work" "$d/root"
  echo "$n" > "$d/root/etc/hostname"
  write_hosts "$d/root" "$2"

  touch "$ns"; unshare --net="$ns" true
  ip link add "v$n" type veth peer name eth0 netns "$ns"
  ip link set "v$n" master "$BR" up
  nsenter --net="$ns" sh -c "ip link set lo up && ip addr add $ip/24 dev eth0 &&
    ip link set eth0 up && ip route add default via $NET.1"

  host_cgroups "$n" "$d"
  local dirs; mapfile -t dirs < "$d/cgroups"

  # containerd's overlay snapshotter cannot live on overlayfs: give it a plain directory.
  mkdir -p "$d/containerd"
  # The launcher must hold none of the caller's files (a Go test reading our stdout would wait
  # for the lab to stop, and the lab lock would never free): new std fds, every other one closed.
  ( close_fds
    for c in "${dirs[@]}"; do echo $BASHPID > "$c/cgroup.procs"; done
    while :; do
      systemd-nspawn --quiet --register=no --keep-unit --machine="$n" \
        --directory="$d/root" --boot --private-network --network-namespace-path="$ns" \
        --bind="$d/containerd:/var/lib/containerd" \
        --system-call-filter="add_key keyctl request_key" \
        --resolv-conf=off --timezone=off --link-journal=no --console=read-only \
        </dev/null >>"$d/console.log" 2>&1 && rc=0 || rc=$?
      [ "$rc" = 133 ] && [ ! -e "$d/stopping" ] || exit "$rc"   # 133: the host asked to reboot
    done ) </dev/null >>"$d/console.log" 2>&1 &
  echo $! > "$d/nspawn.pid"
}

close_fds() {
  local f
  for f in /proc/$BASHPID/fd/*; do
    f=${f##*/}
    [ "$f" -gt 2 ] && eval "exec $f>&-" 2>/dev/null || true
  done
}

wait_ssh() { # index
  local ip; ip=$(hostip "$1")
  for _ in $(seq 1 600); do
    if timeout 1 bash -c "exec 3<>/dev/tcp/$ip/22 && head -c 4 <&3" 2>/dev/null | grep -q SSH; then
      return 0
    fi
    sleep 0.1
  done
  echo "n$1: sshd did not come up (see $LAB/hosts/n$1/console.log)" >&2; return 1
}

# Processes in a host's own cgroup subtree, which only the lab's launcher and its children enter.
cgroup_pids() { # cgroups-file
  local c
  while read -r c; do
    [ -d "$c" ] && find "$c" -name cgroup.procs -exec cat {} + 2>/dev/null
  done < "$1" | sort -un
}

nspawn_pids() { # cgroups-file
  local p
  for p in $(cgroup_pids "$1"); do
    [ "$(cat /proc/"$p"/comm 2>/dev/null)" = systemd-nspawn ] && echo "$p"
  done
  return 0
}

wait_gone() { # cgroups-file tries
  for _ in $(seq 1 "$2"); do [ -z "$(cgroup_pids "$1")" ] && return 0; sleep 0.05; done
  return 1
}

kill_cgroups() { # cgroups-file
  local c p
  while read -r c; do
    [ -e "$c/cgroup.kill" ] && echo 1 > "$c/cgroup.kill" 2>/dev/null || true
  done < "$1"
  for p in $(cgroup_pids "$1"); do kill -KILL "$p" 2>/dev/null || true; done
  wait_gone "$1" 100 || echo "lab: processes left in $(head -1 "$1")" >&2
}

# Stop the host's nspawn: politely through the launcher of the pid file, or, when the launcher
# died (killed lab), through the nspawn left behind in the host's cgroup; then kill what remains.
host_stop() { # name
  local n=$1 d=$LAB/hosts/$1 pid="" p
  touch "$d/stopping"
  [ -f "$d/nspawn.pid" ] && pid=$(cat "$d/nspawn.pid")
  if [ -n "$pid" ] && alive "$pid" && in_host_cgroup "$pid" "$n"; then
    if [ -z "${FAST:-}" ]; then
      for p in $(cat /proc/"$pid"/task/*/children 2>/dev/null); do
        kill -TERM "$p" 2>/dev/null || true  # nspawn asks the host's systemd for an orderly halt
      done
      for _ in $(seq 1 300); do alive "$pid" || break; sleep 0.05; done
    fi
  fi
  rm -f "$d/nspawn.pid"
  [ -f "$d/cgroups" ] || return 0
  if [ -z "${FAST:-}" ] && [ -n "$(nspawn_pids "$d/cgroups")" ]; then
    kill -TERM $(nspawn_pids "$d/cgroups") 2>/dev/null || true
    wait_gone "$d/cgroups" 300 || true
  fi
  [ -z "$(cgroup_pids "$d/cgroups")" ] || kill_cgroups "$d/cgroups"
}

host_down() { # name
  local n=$1 d=$LAB/hosts/$1 c
  host_stop "$n"
  ip link del "v$n" 2>/dev/null || true
  if [ -e "$LAB/run/netns/$n" ]; then
    umount "$LAB/run/netns/$n" 2>/dev/null || true; rm -f "$LAB/run/netns/$n"
  fi
  unmount_under "$d"
  if [ -f "$d/cgroups" ]; then
    while read -r c; do
      [ -d "$c" ] && find "$c" -depth -type d -exec rmdir {} \; 2>/dev/null || true
    done < "$d/cgroups"
  fi
  rmdir "/run/systemd/nspawn/propagate/$n" 2>/dev/null || true
  if awk -v p="$d/" 'index($2, p) == 1 {f=1} END {exit !f}' /proc/mounts; then
    echo "lab: $d is still mounted; leaving it" >&2; return 1
  fi
  rm -rf --one-file-system "$d"
}

unmount_under() { # dir
  awk -v p="$1/" 'index($2, p) == 1 {print $2}' /proc/mounts | sort -r |
    while read -r m; do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true; done
}

# Everything a lab of this $LAB can leave behind, whether it was stopped or killed.
clear_lab() {
  local d f l c
  if bridge_foreign; then
    echo "lab: bridge $BR has ports but was not made by LAB=$LAB; stop that lab first" >&2
    exit 1
  fi
  for d in "$LAB"/hosts/*/; do [ -d "$d" ] && host_down "$(basename "$d")" & done
  wait
  unmount_under "$LAB/hosts"
  for f in "$LAB"/run/netns/*; do
    [ -e "$f" ] || continue
    umount "$f" 2>/dev/null || true; rm -f "$f"
  done
  for l in $(ip -o link show type veth 2>/dev/null | awk -F': ' '{sub(/@.*/, "", $2); print $2}'); do
    [[ $l =~ ^vn[0-9]+$ ]] && ip link del "$l" 2>/dev/null || true
  done
  bridge_down
  if [ -f "$LAB/run/cgroup-bases" ]; then
    while read -r c; do
      [ -d "$c" ] && find "$c" -depth -type d -exec rmdir {} \; 2>/dev/null || true
    done < "$LAB/run/cgroup-bases"
    rm -f "$LAB/run/cgroup-bases"
  fi
  rm -f "$LAB/known_hosts"
}

write_known_hosts() { # N
  local i f
  : > "$LAB/known_hosts.tmp"
  for i in $(seq 1 "$1"); do
    for f in "$LAB/hosts/n$i/upper/etc/ssh/ssh_host_ed25519_key.pub" \
             "$LAB/hosts/n$i/upper/etc/ssh/ssh_host_ecdsa_key.pub" \
             "$LAB/hosts/n$i/upper/etc/ssh/ssh_host_rsa_key.pub"; do
      [ -s "$f" ] && echo "$(hostip "$i") $(cut -d' ' -f1,2 "$f")" >> "$LAB/known_hosts.tmp"
    done
  done
  mv "$LAB/known_hosts.tmp" "$LAB/known_hosts"
}

ssh_opts() {
  echo "-i $KEY -l root -o UserKnownHostsFile=$LAB/known_hosts -o StrictHostKeyChecking=yes" \
    "-o BatchMode=yes -o ConnectTimeout=5"
}

host_addr() { # n3 | deploy | an address
  case "$1" in
    n[0-9]*) hostip "${1#n}" ;;
    deploy) echo "$NET.1" ;;
    *) echo "$1" ;;
  esac
}

# One up or down at a time per $LAB. Stop helpers of a killed run inherit the lock and hold it
# until they finish; the host launchers close it (close_fds).
lock_lab() {
  mkdir -p "$LAB/run"
  exec 8>"$LAB/run/lab.lock"
  flock 8
}

cmd_up() { # N
  local N=$1 i
  [[ $N =~ ^[1-9][0-9]*$ ]] && [ "$N" -le 240 ] || { echo "lab: bad host count: $N" >&2; exit 2; }
  [ -d "$LOWER/etc" ] || { echo "no base image at $LOWER: run build-image.sh first" >&2; exit 1; }
  lock_lab
  clear_lab
  load_modules
  raise_inotify
  set_kubelet_sysctls
  bridge_up
  for i in $(seq 1 "$N"); do host_up "$i" "$N"; done
  for i in $(seq 1 "$N"); do wait_ssh "$i"; done
  write_known_hosts "$N"
  echo "lab up: $N hosts, $(hostip 1) .. $(hostip "$N")"
}

cmd_down() {
  lock_lab
  clear_lab
  restore_inotify
  restore_kubelet_sysctls
  echo "lab down"
}

cmd_status() {
  local d n pid state
  ls -d "$LAB"/hosts/*/ >/dev/null 2>&1 || { echo "no lab hosts under $LAB/hosts"; return 0; }
  for d in "$LAB"/hosts/*/; do
    [ -d "$d" ] || continue
    n=$(basename "$d"); pid=$(cat "$d/nspawn.pid" 2>/dev/null || true)
    state=down
    [ -n "$pid" ] && alive "$pid" && in_host_cgroup "$pid" "$n" && state=running
    echo "$n $(host_addr "$n") pid=${pid:-none} $state"
  done
}

case "${1:-}" in
  up) cmd_up "${2:-3}" ;;
  down) cmd_down ;;
  status) cmd_status ;;
  ssh-opts) ssh_opts ;;
  exec)
    [ $# -ge 3 ] || { echo "usage: $0 exec HOST CMD..." >&2; exit 2; }
    addr=$(host_addr "$2"); shift 2
    # shellcheck disable=SC2046 # the options are words by design
    exec ssh $(ssh_opts) -- "$addr" "$@"
    ;;
  console)
    # Runs a command inside nK without ssh (through the host's own PID 1), for tests that
    # stop or break sshd itself.
    [ $# -ge 3 ] || { echo "usage: $0 console HOST CMD..." >&2; exit 2; }
    n=$2; shift 2
    leader=""
    for p in $(nspawn_pids "$LAB/hosts/$n/cgroups"); do
      leader=$(cat /proc/"$p"/task/*/children 2>/dev/null | awk '{print $1}' | head -1)
    done
    [ -n "$leader" ] || { echo "lab: $n is not running" >&2; exit 1; }
    exec nsenter -t "$leader" -m -u -i -n -p -- "$@"
    ;;
  *) echo "usage: $0 up [N] | down | status | exec HOST CMD... | console HOST CMD... | ssh-opts" >&2; exit 2 ;;
esac
