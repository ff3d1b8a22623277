# Cluster variables: the settings several roles share, declared once. Every role and play
# sees them; set them in the inventory (or with -e) like any variable. A role may not declare
# one of them again, so their defaults cannot drift apart.

variable "stage_dir" {
  type        = string
  default     = "/stage"
  description = "Directory on the deploy host that holds every artifact, downloaded and unpacked (see prepare-stage)."
}

variable "pki_dir" {
  type        = string
  default     = "${kplay.state_dir}/pki"
  description = "Where certificates, keys and kubeconfigs live on the deploy host, beside the inventory."
}

variable "bin_dir" {
  type        = string
  default     = "/usr/local/bin"
  description = "Where binaries are installed on nodes."
}

variable "kube_conf_dir" {
  type        = string
  default     = "/etc/kubernetes"
  description = "Kubernetes configuration and certificates on nodes."
}

variable "cluster_name" {
  type        = string
  default     = "kubernetes"
  description = "Cluster name in kubeconfigs."
}

variable "cluster_domain" {
  type        = string
  default     = "cluster.local"
  description = "DNS domain of the cluster."
}

variable "service_cidr" {
  type        = string
  default     = "10.68.0.0/16"
  description = "Service network; its first address is the kubernetes service."
  validation {
    condition     = can(cidrhost(var.service_cidr, 2))
    error_message = "service_cidr is a network in CIDR notation, such as 10.68.0.0/16."
  }
}

variable "cluster_dns" {
  type        = string
  default     = cidrhost(var.service_cidr, 2)
  description = "Address of the cluster DNS service (coredns), handed to every pod by its kubelet."
}

variable "pod_cidr" {
  type        = string
  default     = "172.20.0.0/16"
  description = "Pod network, split into one range per node."
  validation {
    condition     = can(cidrhost(var.pod_cidr, 2))
    error_message = "pod_cidr is a network in CIDR notation, such as 172.20.0.0/16."
  }
}

variable "network_plugin" {
  type        = string
  default     = "cni-bridge"
  description = "The pod network: cni-bridge (host gateway, no images needed) or calico."
  validation {
    condition     = contains(["cni-bridge", "calico"], var.network_plugin)
    error_message = "network_plugin is cni-bridge or calico."
  }
}

variable "apiserver_port" {
  type        = number
  default     = 6443
  description = "Port kube-apiserver listens on, on each master's address."
}

variable "lb_port" {
  type        = number
  default     = 8443
  description = "Port of the nginx-lb proxy on 127.0.0.1 of every node."
}

variable "etcd_client_port" {
  type        = number
  default     = 2379
  description = "Port etcd serves clients on (TLS)."
}
