# The reference topology: this machine as the deploy host, and three nodes that are each an
# etcd member, a control-plane node and a worker. The 192.0.2.x addresses are documentation
# placeholders: put your nodes' addresses there. Relative paths start at this file's
# directory; "~/" starts at your home directory.

state_dir = "state"

defaults {
  user        = "root"
  key_files   = ["keys/id_ed25519"]
  known_hosts = "known_hosts"
}

host "deploy" {
  connection = "local"
}

host "n1" {
  address = "192.0.2.11"
}

host "n2" {
  address = "192.0.2.12"
}

host "n3" {
  address = "192.0.2.13"
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
  stage_dir = "/stage"
}
