# The lab: the machine running kplay as the deploy host, and three systemd-nspawn hosts
# made by lab/lab.sh (LAB=/var/tmp/kplay-lab), each master, worker and etcd member at once.
# Artifacts come from the lab mirror (lab/mirror.sh serve), which packs Debian's builds in
# upstream's layout: versions and checksums below are the lab's, not upstream's.

state_dir = "state"

defaults {
  user        = "root"
  key_files   = ["/var/tmp/kplay-lab/keys/id_ed25519"]
  known_hosts = "/var/tmp/kplay-lab/known_hosts"
}

host "deploy" {
  connection = "local"
}

host "n1" {
  address = "10.77.0.11"
}

host "n2" {
  address = "10.77.0.12"
}

host "n3" {
  address = "10.77.0.13"
}

group "etcd" {
  hosts = ["n1", "n2", "n3"]
}

group "kube_master" {
  hosts = ["n1", "n2", "n3"]
}

group "kube_node" {
  hosts = ["n1", "n2", "n3"]
}

vars = {
  stage_dir       = "/var/tmp/kplay-lab/stage"
  stage_artifacts = ["etcd"]
  mirror = {
    "https://github.com/" = "http://10.77.0.1:8080/github.com/"
  }
  artifacts = {
    etcd = {
      version = "3.4.23"
      sha256  = "635995ee1cc64f01c9cfbb86e995aa334e5ee6bba3c8e3159d4069260402051f"
    }
  }
}
