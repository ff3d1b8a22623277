#!/bin/bash
# The main job: build kplay, bring up a fresh 3-host lab with its artifact mirror, and run the
# site playbook against it. Run as root from the repository. Leaves the lab up so you can look
# at it: lab/lab.sh exec n1 'etcdctl ...'; take it down with lab/lab.sh down.
set -euo pipefail
cd "$(dirname "$0")/.."
export LAB=${LAB:-/var/tmp/kplay-lab}
lab/deps.sh
go build -o bin/kplay ./cmd/kplay
lab/build-image.sh
lab/lab.sh up 3
lab/mirror.sh build
lab/mirror.sh serve
# A fresh lab has new host keys and new hosts: forget the state of any earlier lab.
rm -rf inventories/lab/state
bin/kplay run site.hcl -i inventories/lab/hosts.hcl "$@"
