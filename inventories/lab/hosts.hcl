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
  stage_dir = "/var/tmp/kplay-lab/stage"
  # Every pinned artifact but crictl, which no registry here serves.
  stage_artifacts = [
    "kubernetes_server", "kubernetes_node", "kubernetes_client", "etcd", "containerd", "runc",
    "cni_plugins", "nginx_source", "calico_manifest",
  ]
  mirror = {
    "https://github.com/"                = "http://10.77.0.1:8080/github.com/"
    "https://dl.k8s.io/"                 = "http://10.77.0.1:8080/dl.k8s.io/"
    "https://nginx.org/"                 = "http://10.77.0.1:8080/nginx.org/"
    "https://raw.githubusercontent.com/" = "http://10.77.0.1:8080/raw.githubusercontent.com/"
  }
  # What lab/mirror.sh build writes to $LAB/mirror/artifacts.hcl.inc: Debian's builds in
  # upstream's layout, and Kubernetes built from source at the pinned release.
  artifacts = {
    kubernetes_server = { sha256 = "106775926b6f634d20d45dbfdeca930050d708be660178d25073b25be7ff6fa7" }
    kubernetes_node   = { sha256 = "3263aeb579420738e21d721a5bb8aa0d744ee80f2e63e20a82384f23e587712c" }
    kubernetes_client = { sha256 = "a0e1cdf23ce125f6ca472698b8fc1e21c9a79629635fb4e811e031d273e07b9c" }
    etcd              = { version = "3.4.23", sha256 = "635995ee1cc64f01c9cfbb86e995aa334e5ee6bba3c8e3159d4069260402051f" }
    containerd        = { version = "1.6.20", sha256 = "4179b7ff5b27ee7f44e8838aa5426c513142ccbe2e8a45a1767430e5d004cde6" }
    runc              = { version = "1.1.5", sha256 = "9a87d5bcdd630ec420ec56a6c21b70aa6960edcefe1cf4bb181cee290bdd6b98" }
    cni_plugins       = { version = "1.1.1", sha256 = "52e8773badcfeb3af5b6542c026ea50f73d9a17e9dccedc577938182e1207340" }
    nginx_source      = { version = "1.22.1", sha256 = "9ebb333a9e82b952acd3e2b4aeb1d4ff6406f72491bab6cd9fe69f0dea737f31" }
    calico_manifest   = { version = "3.24.5", sha256 = "1e8825b3bc56bd1b2a7565783630a97a09a4fd9f92767d013e4201cf8f88812c" }
  }
  # Nodes cannot pull: the pause and coredns images come as archives built by the lab, and
  # so does probe, the lab's test workload (lab/images/probe; its checksum changes with it).
  offline_images = {
    probe = {
      ref    = "kplay.lab/probe:1"
      url    = "http://10.77.0.1:8080/images/probe-1.tar"
      sha256 = "e2559f13190dabd0e32975db23aaf102b6b7fa1e352318b5db4fe6c25bf73bbd"
    }
    pause = {
      ref    = "registry.k8s.io/pause:3.7"
      url    = "http://10.77.0.1:8080/images/pause-3.7.tar"
      sha256 = "06da4f706c3cc3d48d8a5b614e8b83cd7c5c721d24fb1514acd8fe1d05848717"
    }
    coredns = {
      ref    = "registry.k8s.io/coredns/coredns:v1.8.6"
      url    = "http://10.77.0.1:8080/images/coredns-v1.8.6.tar"
      sha256 = "2cefd9a0d2eec82923070e344586de04aff6cea51474e5bbdbcbeebbd037bdfa"
    }
  }
  # No br_netfilter on the lab machine: bridged pod traffic skips iptables, so service
  # traffic is masqueraded for replies to find their way back.
  masquerade_all = true
}
