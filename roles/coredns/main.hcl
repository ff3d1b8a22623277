# coredns: cluster DNS, applied once through the first master's kubectl; its service sits at
# cluster_dns, the address every kubelet hands to pods.

variable "kube_conf_dir" {
  type        = string
  default     = "/etc/kubernetes"
  description = "Kubernetes configuration and certificates on nodes."
}

variable "bin_dir" {
  type        = string
  default     = "/usr/local/bin"
  description = "Where binaries are installed on nodes."
}

variable "service_cidr" {
  type        = string
  default     = "10.68.0.0/16"
  description = "Service network; its first address is the kubernetes service."
}

variable "cluster_domain" {
  type        = string
  default     = "cluster.local"
  description = "DNS domain of the cluster."
}

variable "cluster_dns" {
  type        = string
  default     = cidrhost(var.service_cidr, 2)
  description = "Address of the cluster DNS service (the coredns role's)."
}

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
