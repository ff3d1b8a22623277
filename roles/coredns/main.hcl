# coredns: cluster DNS, applied once through the first master's kubectl; its service sits at
# cluster_dns, the address every kubelet hands to pods.

variable "coredns_replicas" {
  type        = number
  default     = 2
  description = "coredns pods."
}

variable "upstream_dns" {
  type        = string
  default     = "/etc/resolv.conf"
  description = "Where names outside the cluster are forwarded: a resolv.conf path or addresses."
}

task "addons directory" {
  file {
    path = "${var.kube_conf_dir}/addons"
    mode = "0755"
  }
  run_once = true
}

task "coredns manifest" {
  template {
    src  = "coredns.yaml"
    dest = "${var.kube_conf_dir}/addons/coredns.yaml"
  }
  run_once = true
}

task "apply coredns" {
  command {
    argv = ["${var.bin_dir}/kubectl", "apply", "-f", "${var.kube_conf_dir}/addons/coredns.yaml"]
  }
  register     = "coredns_apply"
  changed_when = strcontains(registered.coredns_apply.stdout, "created") || strcontains(registered.coredns_apply.stdout, "configured")
  run_once     = true
}

task "coredns available" {
  command {
    argv = ["${var.bin_dir}/kubectl", "-n", "kube-system", "rollout", "status", "deployment/coredns", "--timeout=180s"]
  }
  changed_when = false
  run_once     = true
}
