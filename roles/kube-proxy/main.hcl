# kube-proxy on every node, configured by file, in iptables mode (ipvs selectable).

variable "proxy_mode" {
  type        = string
  default     = "iptables"
  description = "iptables or ipvs."
  validation {
    condition     = contains(["iptables", "ipvs"], var.proxy_mode)
    error_message = "proxy_mode is iptables or ipvs."
  }
}

variable "masquerade_all" {
  type        = bool
  default     = false
  description = "SNAT all service traffic; needed when bridged pod traffic bypasses iptables (no br_netfilter)."
}

task "kube-proxy binary" {
  copy {
    src  = "${var.stage_dir}/kubernetes_node/node/bin/kube-proxy"
    dest = "${var.bin_dir}/kube-proxy"
    mode = "0755"
  }
  notify = ["restart kube-proxy"]
}

task "kube-proxy directories" {
  for_each = toset([var.kube_conf_dir, "/var/lib/kube-proxy"])
  file {
    path = each.key
    mode = "0700"
  }
}

task "kube-proxy kubeconfig" {
  copy {
    src  = "${var.pki_dir}/kubeconfig/kube-proxy.kubeconfig"
    dest = "${var.kube_conf_dir}/kube-proxy.kubeconfig"
    mode = "0600"
  }
  notify = ["restart kube-proxy"]
}

task "kube-proxy configuration" {
  template {
    src  = "kube-proxy-config.yaml"
    dest = "/var/lib/kube-proxy/config.yaml"
  }
  notify = ["restart kube-proxy"]
}

task "kube-proxy unit" {
  template {
    src  = "kube-proxy.service"
    dest = "/etc/systemd/system/kube-proxy.service"
  }
  notify = ["restart kube-proxy"]
}

task "start kube-proxy" {
  systemd {
    name          = "kube-proxy"
    enabled       = true
    state         = "started"
    daemon_reload = true
  }
}

task "kube-proxy healthy" {
  wait_for {
    url     = "http://127.0.0.1:10256/healthz"
    timeout = "60s"
  }
}

handler "restart kube-proxy" {
  systemd {
    name          = "kube-proxy"
    state         = "restarted"
    daemon_reload = true
  }
}
