#!/bin/bash
# Where kplay's time goes in the cases `make bench` finds slow, without touching kplay's code:
# per-task timings from kplay's JSON events, CPU profiles with perf, and the cost of the steps
# kplay takes that plain OpenSSH does not (connection setup, local hashing, fsync). Brings up
# its own lab of HOSTS hosts and takes it down. Writes $WORK/profile/summary.txt.
#
# env: LAB, WORK (as run.sh), HOSTS (20), REPS (5).
set -euo pipefail
shopt -s inherit_errexit
cd "$(dirname "$(readlink -f "$0")")/.."
ROOT=$PWD
export LAB=${LAB:-/var/tmp/kplay-lab}
WORK=${WORK:-/var/tmp/kplay-bench}
HOSTS=${HOSTS:-20}
REPS=${REPS:-5}
NET=10.77.0
OUT=$WORK/profile
KPLAY=$WORK/bin/kplay
SCP_OPTS=(-i "$LAB/keys/id_ed25519" -o "UserKnownHostsFile=$LAB/known_hosts"
  -o StrictHostKeyChecking=yes -o BatchMode=yes -o ConnectTimeout=5)
SSH_OPTS=(-l root "${SCP_OPTS[@]}")

say() { echo "profile: $*" >&2; }
ip_of() { echo "$NET.$((10 + $1))"; }
ms() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0f\n", (b - a) / 1e6 }'; }
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# time_ms CMD...: wall milliseconds of CMD, its output discarded.
time_ms() {
  local t0 t1
  t0=$(date +%s%N)
  "$@" >/dev/null 2>&1
  t1=$(date +%s%N)
  ms "$t0" "$t1"
}

parallel() { # N FN: FN I for I in 1..N, in parallel
  local i pids=() rc=0
  for i in $(seq 1 "$1"); do
    "$2" "$i" &
    pids+=($!)
  done
  for i in "${pids[@]}"; do wait "$i" || rc=1; done
  return $rc
}

cold_true() { ssh "${SSH_OPTS[@]}" "$(ip_of "$1")" true; }
scp_one() { scp -q "${SCP_OPTS[@]}" "${FILES[@]}" "root@$(ip_of "$1"):/opt/kbench-scp/"; }
clean_one() { ssh "${SSH_OPTS[@]}" "$(ip_of "$1")" 'rm -rf /opt/kbench-dist /opt/kbench-scp; mkdir -p /opt/kbench-scp'; }

inventory() { # N FILE
  local i
  {
    echo 'state_dir = "state"'
    echo "defaults {
  user        = \"root\"
  key_files   = [\"$LAB/keys/id_ed25519\"]
  known_hosts = \"$LAB/known_hosts\"
}"
    for i in $(seq 1 "$1"); do echo "host \"n$i\" { address = \"$(ip_of "$i")\" }"; done
  } > "$2"
}

# task_times JSON: per task, the longest host time (ms), from kplay's result events.
task_times() {
  jq -r 'select(.type == "result") | [.event.task, .event.duration_ns] | @tsv' "$1" |
    awk -F'\t' '{ if ($2 > m[$1]) m[$1] = $2; if (!($1 in o)) o[$1] = n++ }
      END { for (t in o) printf "%d\t%s\t%.0f ms\n", o[t], t, m[t] / 1e6 }' | sort -n | cut -f2-
}

connect_costs() {
  local inv=$OUT/hosts-$HOSTS.hcl r
  inventory "$HOSTS" "$inv"
  "$KPLAY" run bench/playbooks/fourop.hcl -i "$inv" >/dev/null
  {
    echo "== four-op re-run on $HOSTS hosts"
    echo "cold connect floor: $HOSTS parallel 'ssh HOST true' without a master, median of $REPS:"
    for r in $(seq 1 "$REPS"); do time_ms parallel "$HOSTS" cold_true; done | median | sed 's/$/ ms/'
    echo "kplay re-run, median of $REPS:"
    for r in $(seq 1 "$REPS"); do
      time_ms "$KPLAY" run bench/playbooks/fourop.hcl -i "$inv"
    done | median | sed 's/$/ ms/'
    "$KPLAY" run bench/playbooks/fourop.hcl -i "$inv" --output json > "$OUT/fourop.json"
    echo "per task, slowest host (the first task includes connecting):"
    task_times "$OUT/fourop.json"
    /usr/bin/time -f 'kplay CPU: %U s user, %S s system, %e s wall' \
      "$KPLAY" run bench/playbooks/fourop.hcl -i "$inv" 2>&1 >/dev/null
    perf record -q -e cpu-clock -F 2000 -g -o "$OUT/fourop.perf" -- \
      "$KPLAY" run bench/playbooks/fourop.hcl -i "$inv" >/dev/null 2>&1
    echo "kplay CPU profile (perf, self time, top 15):"
    perf report -i "$OUT/fourop.perf" --no-children --sort symbol --stdio -g none 2>/dev/null |
      grep -E '^ +[0-9]' | head -n 15 || true
  } | tee "$OUT/fourop.txt"
}

dist_costs() {
  local bin=$LAB/stage/kubernetes_server/server/bin inv=$OUT/hosts-3.hcl etcd r
  etcd=$(find "$LAB/stage/etcd" -type f -name etcd | head -n 1)
  FILES=("$bin/kube-apiserver" "$bin/kube-controller-manager" "$bin/kube-scheduler"
    "$bin/kubelet" "$bin/kubectl" "$etcd")
  local args=(-e k8s_bin="$bin" -e etcd_bin="$etcd")
  inventory 3 "$inv"
  {
    echo "== distribution to 3 hosts"
    echo "local sha256 of the files (page cache warm): $(time_ms sha256sum "${FILES[@]}") ms"
    for r in $(seq 1 "$REPS"); do
      parallel 3 clean_one
      printf '%s %s\n' "$(time_ms parallel 3 scp_one)" \
        "$(time_ms ssh "${SSH_OPTS[@]}" "$(ip_of 1)" sync)"
    done > "$OUT/scp.txt"
    echo "parallel scp: $(cut -d' ' -f1 "$OUT/scp.txt" | median) ms, then sync on the nodes: $(cut -d' ' -f2 "$OUT/scp.txt" | median) ms"
    for r in $(seq 1 "$REPS"); do
      parallel 3 clean_one
      time_ms "$KPLAY" run bench/playbooks/dist.hcl -i "$inv" "${args[@]}"
    done | median | sed 's/^/kplay first run: /; s/$/ ms/'
    parallel 3 clean_one
    /usr/bin/time -f 'kplay CPU: %U s user, %S s system, %e s wall' \
      "$KPLAY" run bench/playbooks/dist.hcl -i "$inv" "${args[@]}" --output json \
      2>&1 > "$OUT/dist.json"
    echo "per task, slowest host:"
    task_times "$OUT/dist.json"
    parallel 3 clean_one
    perf record -q -e cpu-clock -F 2000 -g -o "$OUT/dist.perf" -- \
      "$KPLAY" run bench/playbooks/dist.hcl -i "$inv" "${args[@]}" >/dev/null 2>&1
    echo "kplay CPU profile, first run (perf, self time, top 20):"
    perf report -i "$OUT/dist.perf" --no-children --sort symbol --stdio -g none 2>/dev/null |
      grep -E '^ +[0-9]' | head -n 20 || true
    "$KPLAY" run bench/playbooks/dist.hcl -i "$inv" "${args[@]}" --output json > "$OUT/dist-rerun.json"
    echo "re-run, per task, slowest host (remote sha256sum of each file):"
    task_times "$OUT/dist-rerun.json"
    echo "remote sha256sum of the 6 files on 3 hosts at once: $(time_ms parallel 3 remote_sum) ms"
    parallel 3 clean_one
  } | tee "$OUT/dist.txt"
}

remote_sum() { ssh "${SSH_OPTS[@]}" "$(ip_of "$1")" 'sha256sum /opt/kbench-dist/*'; }

main() {
  [ "$(id -u)" = 0 ] || { say "run as root"; exit 1; }
  mkdir -p "$OUT" "$WORK/bin"
  go build -o "$KPLAY" ./cmd/kplay
  trap 'lab/lab.sh down >/dev/null 2>&1 || true' EXIT
  say "lab up $HOSTS"
  lab/lab.sh up "$HOSTS" > "$OUT/lab-up.log" 2>&1
  connect_costs
  dist_costs
  cat "$OUT/fourop.txt" "$OUT/dist.txt" > "$OUT/summary.txt"
}

main "$@"
