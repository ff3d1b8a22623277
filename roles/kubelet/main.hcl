# kubelet on every node: a configuration file rather than deprecated flags, containerd as
# its runtime, the node's own client and serving certificates, cluster DNS at the address
# the coredns role serves, and the inventory's host name as the node name.

variable "max_pods" {
  type        = number
  default     = 110
  description = "Pods per node."
}

variable "kubelet_extra_config" {
  type        = map(string)
  default     = {}
  description = "More KubeletConfiguration fields, name to YAML value, appended to the file."
}

task "kubelet binary" {
  copy {
    src  = "${var.stage_dir}/kubernetes_node/node/bin/kubelet"
    dest = "${var.bin_dir}/kubelet"
    mode = "0755"
  }
  notify = ["restart kubelet"]
}

task "kubelet directories" {
  for_each = toset([var.kube_conf_dir, "${var.kube_conf_dir}/pki", "/var/lib/kubelet"])
  file {
    path = each.key
    mode = "0700"
  }
}

task "kubelet certificates" {
  for_each = {
    "pki/ca.pem"          = "ca.pem"
    "pki/kubelet.pem"     = "nodes/${host.name}-kubelet.pem"
    "pki/kubelet-key.pem" = "nodes/${host.name}-kubelet-key.pem"
    "kubelet.kubeconfig"  = "kubeconfig/${host.name}-kubelet.kubeconfig"
  }
  copy {
    src  = "${var.pki_dir}/${each.value}"
    dest = "${var.kube_conf_dir}/${each.key}"
    mode = endswith(each.key, ".pem") && !endswith(each.key, "-key.pem") ? "0644" : "0600"
  }
  notify = ["restart kubelet"]
}

task "kubelet configuration" {
  template {
    src  = "kubelet-config.yaml"
    dest = "/var/lib/kubelet/config.yaml"
  }
  notify = ["restart kubelet"]
}

task "kubelet unit" {
  template {
    src  = "kubelet.service"
    dest = "/etc/systemd/system/kubelet.service"
  }
  notify = ["restart kubelet"]
}

task "start kubelet" {
  systemd {
    name          = "kubelet"
    enabled       = true
    state         = "started"
    daemon_reload = true
  }
}

task "kubelet healthy" {
  wait_for {
    url     = "http://127.0.0.1:10248/healthz"
    timeout = "90s"
  }
}

handler "restart kubelet" {
  systemd {
    name          = "kubelet"
    state         = "restarted"
    daemon_reload = true
  }
}
