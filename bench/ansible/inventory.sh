#!/bin/bash
# Prints an Ansible INI inventory for lab hosts n1..nN: inventory.sh N [LAB] [NET]
set -euo pipefail
N=${1:?usage: inventory.sh N [LAB] [NET]}
LAB=${2:-/var/tmp/kplay-lab}
NET=${3:-10.77.0}
echo "[all]"
for i in $(seq 1 "$N"); do
  echo "n$i ansible_host=$NET.$((10 + i))"
done
echo
echo "[all:vars]"
echo "ansible_user=root"
echo "ansible_ssh_private_key_file=$LAB/keys/id_ed25519"
echo "ansible_ssh_common_args='-o UserKnownHostsFile=$LAB/known_hosts -o StrictHostKeyChecking=yes'"
