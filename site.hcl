# The whole site: stage every artifact on the deploy host, make the cluster's PKI, then
# install each component on its group. Run with: kplay run site.hcl -i hosts.hcl

# Nothing can be installed without the stage and the certificates: a failure there ends
# the run rather than failing every node on a missing file.
play "stage artifacts" {
  hosts            = "deploy"
  roles            = ["prepare-stage"]
  any_errors_fatal = true
}

play "cluster PKI" {
  hosts            = "deploy"
  roles            = ["pki"]
  any_errors_fatal = true
}

play "prepare nodes" {
  hosts = "kube_master:kube_node:etcd"
  roles = ["os"]
}

play "etcd" {
  hosts = "etcd"
  roles = ["etcd"]
}

play "container runtime and API proxy" {
  hosts = "kube_master:kube_node"
  roles = ["containerd", "nginx-lb"]
}

# One apiserver at a time: a change restarts them in turn while the others serve.
play "apiservers" {
  hosts  = "kube_master"
  serial = 1
  roles  = ["kube-apiserver"]
}

play "control plane" {
  hosts = "kube_master"
  roles = ["kube-controller-manager", "kube-scheduler"]
}

play "workers" {
  hosts = "kube_node"
  roles = ["cni-bridge", "kubelet", "kube-proxy"]
}

play "cluster add-ons" {
  hosts = "kube_master"
  roles = ["coredns", "calico"]
}
