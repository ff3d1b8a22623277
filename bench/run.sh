#!/bin/bash
# make bench: kplay against Ansible, against bare OpenSSH, and against its own targets, on a
# lab it brings up and takes down itself. Prints a table of medians and ratios (absolute
# times depend on the machine; the ratios are what to compare) and writes it, with the
# machine's description, to $WORK/report.md. Run as root from anywhere.
#
# env: LAB (default /var/tmp/kplay-lab), WORK (default /var/tmp/kplay-bench), REPS (5: runs
#      per kplay and floor case), ANSIBLE_REPS (3), SITE_REPS (1: fresh-lab first deploys of
#      site.hcl), SITE_RERUNS (5), HOSTS (20), KEEP_LAB=1 (leave the last lab up),
#      CASES (default "fourop pertask roundtrips dist site": the ones to run),
#      SITE_RERUN_ARGS (extra kplay flags for the site's re-runs, e.g. "--skip-tags preflight").
set -euo pipefail
shopt -s inherit_errexit
cd "$(dirname "$(readlink -f "$0")")/.."
ROOT=$PWD
export LAB=${LAB:-/var/tmp/kplay-lab}
WORK=${WORK:-/var/tmp/kplay-bench}
REPS=${REPS:-5}
ANSIBLE_REPS=${ANSIBLE_REPS:-3}
SITE_REPS=${SITE_REPS:-1}
SITE_RERUNS=${SITE_RERUNS:-5}
HOSTS=${HOSTS:-20}
CASES=${CASES:-fourop pertask roundtrips dist site}
NET=10.77.0
SMALL=3
KPLAY=$WORK/bin/kplay
LOGS=$WORK/logs
RESULTS=$WORK/results.tsv
FLOOR_CP=/tmp/kbench-floor
ANSIBLE_CP=/tmp/kbench-ansible-cp
SCP_OPTS=(-i "$LAB/keys/id_ed25519" -o "UserKnownHostsFile=$LAB/known_hosts"
  -o StrictHostKeyChecking=yes -o BatchMode=yes -o ConnectTimeout=5)
SSH_OPTS=(-l root "${SCP_OPTS[@]}")
export ANSIBLE_CONFIG=$ROOT/bench/ansible/ansible.cfg
REP=0

want() { [[ " $CASES " == *" $1 "* ]]; }
say() { echo "bench: $*" >&2; }
die() { say "$*"; exit 1; }
ip_of() { echo "$NET.$((10 + $1))"; }
record() { printf '%s\t%s\n' "$1" "$2" >> "$RESULTS"; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.4f", (b - a) / 1e9 }'; }

# ---------------------------------------------------------------------------------------
# Setup and teardown

need_tools() {
  local missing=()
  command -v ansible-playbook >/dev/null || missing+=(ansible-core)
  [ -x /usr/bin/time ] || missing+=(time)
  command -v strace >/dev/null || missing+=(strace)
  command -v jq >/dev/null || missing+=(jq)
  command -v scp >/dev/null || missing+=(openssh-client)
  if [ ${#missing[@]} -gt 0 ]; then
    say "installing ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}" >/dev/null
  fi
}

cleanup() {
  close_masters "$FLOOR_CP"
  close_masters "$ANSIBLE_CP"
  [ "${KEEP_LAB:-}" = 1 ] && return 0
  lab/mirror.sh stop >/dev/null 2>&1 || true
  lab/lab.sh down >/dev/null 2>&1 || true
}

# close_masters DIR: ends the ssh control masters whose sockets are in DIR (ours only).
close_masters() {
  local s
  for s in "$1"/*; do
    [ -S "$s" ] && ssh -o ControlPath="$s" -O exit bench >/dev/null 2>&1 || true
  done
}

lab_up() { # N
  say "lab up $1"
  lab/lab.sh up "$1" >"$LOGS/lab-up-$1.log" 2>&1 || die "lab up failed: $LOGS/lab-up-$1.log"
}

# kplay_inventory N FILE: hosts n1..nN, no deploy host, state beside the file.
kplay_inventory() {
  local i
  {
    echo 'state_dir = "state"'
    echo 'defaults {'
    echo '  user        = "root"'
    echo "  key_files   = [\"$LAB/keys/id_ed25519\"]"
    echo "  known_hosts = \"$LAB/known_hosts\""
    echo '}'
    for i in $(seq 1 "$1"); do echo "host \"n$i\" { address = \"$(ip_of "$i")\" }"; done
  } > "$2"
}

# on_hosts N CMD: CMD on n1..nN in parallel, untimed housekeeping.
on_hosts() {
  local i pids=()
  for i in $(seq 1 "$1"); do
    ssh "${SSH_OPTS[@]}" "$(ip_of "$i")" "$2" &
    pids+=($!)
  done
  for i in "${pids[@]}"; do wait "$i" || die "housekeeping on the hosts failed: $2"; done
}

# ---------------------------------------------------------------------------------------
# Timed runs. Each records LABEL (seconds) and, where it has them, LABEL.changed,
# LABEL.rss_mb and LABEL.bytes; a failed run stops the benchmark.

timed() { # LABEL CMD...
  local label=$1 t0 t1 out=$LOGS/$1.$REP
  shift
  t0=$(date +%s%N)
  if ! "$@" >"$out.out" 2>"$out.err"; then
    tail -n 20 "$out.out" "$out.err" >&2
    die "$label failed (logs: $out.out, $out.err)"
  fi
  t1=$(date +%s%N)
  record "$label" "$(secs "$t0" "$t1")"
}

kplay_timed() { # LABEL INVENTORY PLAYBOOK [ARGS...]
  local label=$1 inv=$2 pb=$3 out=$LOGS/$1.$REP recap
  shift 3
  timed "$label" /usr/bin/time -v -o "$out.time" \
    "$KPLAY" run "$pb" -i "$inv" --output json --forks 50 "$@"
  recap=$(jq -c 'select(.type == "recap") | .event' "$out.out")
  [ -n "$recap" ] || die "$label: no recap in $out.out"
  [ "$(jq '[.counts[] | .failed + .unreachable] | add' <<<"$recap")" = 0 ] ||
    die "$label: a host failed: $out.out"
  record "$label.changed" "$(jq '[.counts[].changed] | add' <<<"$recap")"
  record "$label.bytes" "$(jq '.bytes_uploaded' <<<"$recap")"
  record "$label.rss_mb" "$(awk -F': ' '/Maximum resident set size/ { printf "%.1f", $2 / 1024 }' "$out.time")"
}

ansible_timed() { # LABEL INVENTORY PLAYBOOK
  local label=$1 out=$LOGS/$1.$REP
  timed "$label" ansible-playbook -i "$2" "$3"
  grep -Eq 'unreachable=[1-9]|failed=[1-9]' "$out.out" && die "$label: a host failed: $out.out"
  record "$label.changed" "$(grep -o 'changed=[0-9]*' "$out.out" | awk -F= '{ s += $2 } END { print s + 0 }')"
}

# ---------------------------------------------------------------------------------------
# The floor: the four operations' remote commands over one open ControlMaster per host.

floor_open() { # N
  local i
  mkdir -p "$FLOOR_CP"
  for i in $(seq 1 "$1"); do
    [ -S "$FLOOR_CP/n$i" ] && continue
    ssh "${SSH_OPTS[@]}" -o ControlMaster=yes -o ControlPath="$FLOOR_CP/n$i" \
      -o ControlPersist=900 -f -N "$(ip_of "$i")"
  done
}

floor_host() { # I first|rerun
  local c=(ssh "${SSH_OPTS[@]}" -o ControlMaster=no -o ControlPath="$FLOOR_CP/n$1" "$(ip_of "$1")")
  if [ "$2" = first ]; then
    "${c[@]}" 'mkdir -p /opt/kbench && chmod 0755 /opt/kbench'
    "${c[@]}" "printf 'written by the kplay benchmark\n' > /opt/kbench/content.txt"
    printf '# rendered for n%s\nname = n%s\naddress = %s\n' "$1" "$1" "$(ip_of "$1")" |
      "${c[@]}" 'cat > /opt/kbench/bench.conf'
    "${c[@]}" 'test -e /opt/kbench/cmd.out || sh -c "hostname > /opt/kbench/cmd.out"'
  else
    "${c[@]}" 'stat -c %a /opt/kbench'
    "${c[@]}" "sha256sum /opt/kbench/content.txt; stat -c '%a %U %G' /opt/kbench/content.txt"
    "${c[@]}" "sha256sum /opt/kbench/bench.conf; stat -c '%a %U %G' /opt/kbench/bench.conf"
    "${c[@]}" 'test -e /opt/kbench/cmd.out'
  fi
}

floor_run() { # N first|rerun
  local i pids=() rc=0
  for i in $(seq 1 "$1"); do
    floor_host "$i" "$2" &
    pids+=($!)
  done
  for i in "${pids[@]}"; do wait "$i" || rc=1; done
  return $rc
}

# ---------------------------------------------------------------------------------------
# Cases

case_fourop() { # N
  local n=$1 inv=$WORK/inv/hosts-$1.hcl ainv=$WORK/inv/ansible-$1.ini
  kplay_inventory "$n" "$inv"
  bench/ansible/inventory.sh "$n" "$LAB" "$NET" > "$ainv"
  floor_open "$n"
  for REP in $(seq 1 "$REPS"); do
    say "four-op on $n hosts, run $REP/$REPS"
    on_hosts "$n" 'rm -rf /opt/kbench'
    kplay_timed "fourop.n$n.kplay.first" "$inv" bench/playbooks/fourop.hcl
    kplay_timed "fourop.n$n.kplay.rerun" "$inv" bench/playbooks/fourop.hcl
    on_hosts "$n" 'rm -rf /opt/kbench'
    timed "fourop.n$n.floor.first" floor_run "$n" first
    timed "fourop.n$n.floor.rerun" floor_run "$n" rerun
    if [ "$REP" -le "$ANSIBLE_REPS" ]; then
      on_hosts "$n" 'rm -rf /opt/kbench'
      # A first run opens its SSH masters; the re-run finds them open (ControlPersist), the
      # way a user re-running within minutes would: Ansible's best case.
      close_masters "$ANSIBLE_CP"
      ansible_timed "fourop.n$n.ansible.first" "$ainv" bench/ansible/fourop.yml
      ansible_timed "fourop.n$n.ansible.rerun" "$ainv" bench/ansible/fourop.yml
      close_masters "$ANSIBLE_CP"
      ansible_timed "fourop.n$n.ansible.rerun_cold" "$ainv" bench/ansible/fourop.yml
    fi
  done
}

# gen_tasks KIND K FILE: a playbook making /opt/kbench-rt, then K tasks of KIND.
gen_tasks() {
  local i
  {
    echo 'play "tasks" {'
    echo '  hosts        = "all"'
    echo '  gather_facts = false'
    echo '  task "rt dir" {'
    echo '    file {'
    echo '      path = "/opt/kbench-rt"'
    echo '    }'
    echo '  }'
    for i in $(seq 1 "$2"); do
      echo "  task \"$1 $i\" {"
      case $1 in
        command) echo '    command { argv = ["true"] }' ;;
        file) echo '    file { path = "/opt/kbench-rt" }' ;;
        copy) echo "    copy {
      content = \"same content\\n\"
      dest = \"/opt/kbench-rt/copy$i.txt\"
    }" ;;
        copy-changed) echo "    copy {
      content = \"\${var.stamp}\\n\"
      dest = \"/opt/kbench-rt/changed$i.txt\"
    }" ;;
        template) echo "    template {
      src = \"bench.conf.tpl\"
      dest = \"/opt/kbench-rt/t$i.conf\"
    }" ;;
      esac
      echo '  }'
    done
    echo '}'
  } > "$3"
}

case_pertask() {
  local inv=$WORK/inv/hosts-1.hcl ainv=$WORK/inv/ansible-1.ini
  kplay_inventory 1 "$inv"
  bench/ansible/inventory.sh 1 "$LAB" "$NET" > "$ainv"
  gen_tasks command 1 "$WORK/pb/command-1.hcl"
  gen_tasks command 200 "$WORK/pb/command-200.hcl"
  {
    echo '- hosts: all'
    echo '  gather_facts: false'
    echo '  tasks:'
    for i in $(seq 1 200); do
      printf '    - name: true %s\n      ansible.builtin.command:\n        argv: ["true"]\n' "$i"
    done
  } > "$WORK/pb/command-200.yml"
  floor_open 1
  for REP in $(seq 1 "$REPS"); do
    say "200 command tasks on one host, run $REP/$REPS"
    kplay_timed pertask.kplay.1 "$inv" "$WORK/pb/command-1.hcl"
    kplay_timed pertask.kplay.200 "$inv" "$WORK/pb/command-200.hcl"
    # One remote command over an open master, to express a task in round trips.
    timed pertask.floor.exec50 bash -c 'for i in $(seq 50); do "$@" true; done' _ \
      ssh "${SSH_OPTS[@]}" -o ControlMaster=no -o ControlPath="$FLOOR_CP/n1" "$(ip_of 1)"
  done
  # Ansible needs about a minute for these: one run, for reference.
  for REP in $(seq 1 "${ANSIBLE_200_REPS:-1}"); do
    say "200 command tasks with Ansible, run $REP"
    ansible_timed pertask.ansible.200 "$ainv" "$WORK/pb/command-200.yml"
  done
}

# sshd_listener I: the host-side pid of node nI's sshd listener.
sshd_listener() {
  nsenter --net="$LAB/run/netns/n$1" ss -ltnpH 'sport = :22' |
    grep -o 'pid=[0-9]*' | head -n 1 | cut -d= -f2
}

# exec_count KIND K: remote commands (a shell started by sshd with -c, one per SSH exec
# channel; the SFTP subsystem is one more) that a no-op run of K tasks of KIND makes on n1.
exec_count() {
  local kind=$1 k=$2 pb=$WORK/pb/rt-$1-$2.hcl inv=$WORK/inv/hosts-1.hcl trace pid spid shell
  trace=$LOGS/rt-$kind-$k.strace
  gen_tasks "$kind" "$k" "$pb"
  ln -sfn "$ROOT/bench/playbooks/templates" "$WORK/pb/templates"
  "$KPLAY" run "$pb" -i "$inv" -e stamp=warm >/dev/null
  pid=$(sshd_listener 1)
  [ -n "$pid" ] || die "no sshd listener found for n1"
  strace -f -qq -s 80 -e trace=execve -e signal=none -o "$trace" -p "$pid" &
  spid=$!
  sleep 1
  "$KPLAY" run "$pb" -i "$inv" -e stamp="$RANDOM$RANDOM" >/dev/null
  sleep 1
  kill -INT "$spid"
  wait "$spid" || true
  shell=$(ssh "${SSH_OPTS[@]}" "$(ip_of 1)" 'getent passwd root | cut -d: -f7')
  grep -c "execve(\"$shell\", \[\"[^\"]*\", \"-c\"" "$trace" || true
}

case_roundtrips() {
  local kind one eleven
  for kind in command file copy template copy-changed; do
    say "round trips: $kind"
    one=$(exec_count "$kind" 1)
    eleven=$(exec_count "$kind" 11)
    record "rt.$kind.k1" "$one"
    record "rt.$kind.k11" "$eleven"
    record "rt.$kind" "$(awk -v a="$one" -v b="$eleven" 'BEGIN { printf "%.2f", (b - a) / 10 }')"
  done
}

stage_files() {
  local bin=$LAB/stage/kubernetes_server/server/bin etcd
  etcd=$(find "$LAB/stage/etcd" -type f -name etcd 2>/dev/null | head -n 1 || true)
  [ -x "$bin/kube-apiserver" ] && [ -n "$etcd" ] || return 1
  K8S_BIN=$bin
  ETCD_BIN=$etcd
  DIST_FILES=("$bin/kube-apiserver" "$bin/kube-controller-manager" "$bin/kube-scheduler"
    "$bin/kubelet" "$bin/kubectl" "$etcd")
}

site_inventory() {
  mkdir -p "$WORK/site"
  rm -rf "$WORK/site/state"
  cp inventories/lab/hosts.hcl "$WORK/site/hosts.hcl"
}

ensure_stage() {
  stage_files && return 0
  say "staging artifacts for the distribution case (site.hcl, prepare-stage only)"
  lab/mirror.sh serve >/dev/null
  site_inventory
  "$KPLAY" run site.hcl -i "$WORK/site/hosts.hcl" --limit deploy --tags prepare-stage \
    >"$LOGS/stage.log" 2>&1 || die "staging failed: $LOGS/stage.log"
  stage_files || die "no staged binaries under $LAB/stage"
}

scp_all() { # N DEST
  local i pids=() rc=0
  for i in $(seq 1 "$1"); do
    scp -q "${SCP_OPTS[@]}" "${DIST_FILES[@]}" "root@$(ip_of "$i"):$2/" &
    pids+=($!)
  done
  for i in "${pids[@]}"; do wait "$i" || rc=1; done
  return $rc
}

case_dist() {
  local inv=$WORK/inv/hosts-$SMALL.hcl bytes
  ensure_stage
  kplay_inventory "$SMALL" "$inv"
  bytes=$(du -b --apparent-size -c "${DIST_FILES[@]}" | tail -n 1 | cut -f1)
  record dist.bytes_per_host "$bytes"
  record dist.hosts "$SMALL"
  for REP in $(seq 1 "$REPS"); do
    say "distribution to $SMALL hosts, run $REP/$REPS"
    on_hosts "$SMALL" 'rm -rf /opt/kbench-dist /opt/kbench-scp; mkdir -p /opt/kbench-scp'
    timed dist.scp scp_all "$SMALL" /opt/kbench-scp
    on_hosts "$SMALL" 'rm -rf /opt/kbench-scp'
    kplay_timed dist.kplay.first "$inv" bench/playbooks/dist.hcl \
      -e k8s_bin="$K8S_BIN" -e etcd_bin="$ETCD_BIN"
    kplay_timed dist.kplay.rerun "$inv" bench/playbooks/dist.hcl \
      -e k8s_bin="$K8S_BIN" -e etcd_bin="$ETCD_BIN"
  done
  on_hosts "$SMALL" 'rm -rf /opt/kbench-dist /opt/kbench-scp'
}

case_site() {
  local r
  for r in $(seq 1 "$SITE_REPS"); do
    lab_up 3
    lab/mirror.sh serve >/dev/null
    site_inventory
    REP=$r
    say "site.hcl first deploy $r/$SITE_REPS"
    kplay_timed site.first "$WORK/site/hosts.hcl" site.hcl
  done
  for REP in $(seq 1 "$SITE_RERUNS"); do
    say "site.hcl re-run $REP/$SITE_RERUNS"
    # shellcheck disable=SC2086 # flags, split on purpose
    kplay_timed site.rerun "$WORK/site/hosts.hcl" site.hcl ${SITE_RERUN_ARGS:-}
  done
}

machine() {
  echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "- machine: $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), $(free -g | awk '/^Mem:/ { print $2 }') GiB memory, kernel $(uname -r)"
  echo "- kplay: $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown) (+ working tree), $(go version | cut -d' ' -f3)"
  echo "- Ansible: $(ansible-playbook --version | head -n 1), OpenSSH $(ssh -V 2>&1 | cut -d, -f1)"
  echo "- command: \`make bench\` (REPS=$REPS ANSIBLE_REPS=$ANSIBLE_REPS SITE_REPS=$SITE_REPS SITE_RERUNS=$SITE_RERUNS HOSTS=$HOSTS${SITE_RERUN_ARGS:+ SITE_RERUN_ARGS=\"$SITE_RERUN_ARGS\"})"
}

main() {
  [ "$(id -u)" = 0 ] || die "run as root (the lab needs it)"
  need_tools
  rm -rf "$LOGS" "$WORK/inv" "$WORK/pb"
  mkdir -p "$LOGS" "$WORK/bin" "$WORK/inv" "$WORK/pb"
  : > "$RESULTS"
  trap cleanup EXIT
  say "building kplay"
  go build -o "$KPLAY" ./cmd/kplay
  lab/deps.sh >"$LOGS/deps.log" 2>&1 || die "lab/deps.sh failed: $LOGS/deps.log"
  lab/build-image.sh >"$LOGS/image.log" 2>&1 || die "lab/build-image.sh failed: $LOGS/image.log"
  lab/mirror.sh build >"$LOGS/mirror.log" 2>&1 || say "mirror build reported a failure (see $LOGS/mirror.log)"
  ln -sfn "$ROOT/bench/playbooks/templates" "$WORK/pb/templates"

  if want fourop || want pertask || want roundtrips || want dist; then lab_up "$HOSTS"; fi
  if want fourop; then case_fourop "$SMALL"; case_fourop "$HOSTS"; fi
  if want pertask; then case_pertask; fi
  if want roundtrips; then case_roundtrips; fi
  close_masters "$FLOOR_CP"
  close_masters "$ANSIBLE_CP"
  if want dist; then case_dist; fi
  if want site; then case_site; fi

  machine > "$WORK/report.md"
  echo >> "$WORK/report.md"
  /usr/bin/python3 bench/table.py "$RESULTS" "$SMALL" "$HOSTS" >> "$WORK/report.md"
  cat "$WORK/report.md"
}

main "$@"
