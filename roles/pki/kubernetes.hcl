# Kubernetes certificates and kubeconfigs, beside the etcd ones (main.hcl). Components on
# a node reach the API through the local nginx-lb at 127.0.0.1:lb_port; kubeconfigs for the
# deploy host point at the first master.

variable "apiserver_extra_sans" {
  type        = list(string)
  default     = []
  description = "Extra names and addresses of the API server certificate (an external load balancer)."
}

task "kubernetes directories" {
  for_each = toset(["${var.pki_dir}/kubernetes", "${var.pki_dir}/kubeconfig", "${var.pki_dir}/nodes"])
  file {
    path = each.key
    mode = "0700"
  }
}

task "front-proxy CA" {
  pki {
    is_ca       = true
    cert        = "${var.pki_dir}/front-proxy-ca.pem"
    key         = "${var.pki_dir}/front-proxy-ca-key.pem"
    common_name = "front-proxy-ca"
    valid_days  = var.ca_valid_days
  }
}

task "apiserver certificate" {
  pki {
    ca_cert     = "${var.pki_dir}/ca.pem"
    ca_key      = "${var.pki_dir}/ca-key.pem"
    cert        = "${var.pki_dir}/kubernetes/apiserver.pem"
    key         = "${var.pki_dir}/kubernetes/apiserver-key.pem"
    common_name = "kube-apiserver"
    dns_names = concat(
      groups.kube_master,
      ["localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.${var.cluster_domain}"],
      [for s in var.apiserver_extra_sans : s if !can(cidrhost("${s}/32", 0))],
    )
    ip_addresses = concat(
      [for m in groups.kube_master : hosts[m].address],
      ["127.0.0.1", cidrhost(var.service_cidr, 1)],
      [for s in var.apiserver_extra_sans : s if can(cidrhost("${s}/32", 0))],
    )
    server            = true
    valid_days        = var.cert_valid_days
    renew_before_days = var.renew_before_days
  }
}

task "client certificates" {
  for_each = {
    "apiserver-etcd-client"    = { cn = "kube-apiserver-etcd-client", org = [] }
    "apiserver-kubelet-client" = { cn = "kube-apiserver-kubelet-client", org = ["system:masters"] }
    "admin"                    = { cn = "admin", org = ["system:masters"] }
    "controller-manager"       = { cn = "system:kube-controller-manager", org = [] }
    "scheduler"                = { cn = "system:kube-scheduler", org = [] }
    "kube-proxy"               = { cn = "system:kube-proxy", org = [] }
  }
  pki {
    ca_cert           = "${var.pki_dir}/ca.pem"
    ca_key            = "${var.pki_dir}/ca-key.pem"
    cert              = "${var.pki_dir}/kubernetes/${each.key}.pem"
    key               = "${var.pki_dir}/kubernetes/${each.key}-key.pem"
    common_name       = each.value.cn
    organization      = each.value.org
    client            = true
    valid_days        = var.cert_valid_days
    renew_before_days = var.renew_before_days
  }
}

task "front-proxy client certificate" {
  pki {
    ca_cert           = "${var.pki_dir}/front-proxy-ca.pem"
    ca_key            = "${var.pki_dir}/front-proxy-ca-key.pem"
    cert              = "${var.pki_dir}/kubernetes/front-proxy-client.pem"
    key               = "${var.pki_dir}/kubernetes/front-proxy-client-key.pem"
    common_name       = "front-proxy-client"
    client            = true
    valid_days        = var.cert_valid_days
    renew_before_days = var.renew_before_days
  }
}

task "service account key pair" {
  keypair {
    key = "${var.pki_dir}/kubernetes/sa.key"
    pub = "${var.pki_dir}/kubernetes/sa.pub"
  }
}

task "kubelet client certificates" {
  for_each = toset(groups.kube_node)
  pki {
    ca_cert           = "${var.pki_dir}/ca.pem"
    ca_key            = "${var.pki_dir}/ca-key.pem"
    cert              = "${var.pki_dir}/nodes/${each.key}-kubelet-client.pem"
    key               = "${var.pki_dir}/nodes/${each.key}-kubelet-client-key.pem"
    common_name       = "system:node:${each.key}"
    organization      = ["system:nodes"]
    client            = true
    valid_days        = var.cert_valid_days
    renew_before_days = var.renew_before_days
  }
}

task "kubelet serving certificates" {
  for_each = toset(groups.kube_node)
  pki {
    ca_cert           = "${var.pki_dir}/ca.pem"
    ca_key            = "${var.pki_dir}/ca-key.pem"
    cert              = "${var.pki_dir}/nodes/${each.key}-kubelet.pem"
    key               = "${var.pki_dir}/nodes/${each.key}-kubelet-key.pem"
    common_name       = each.key
    dns_names         = [each.key, "localhost"]
    ip_addresses      = [hosts[each.key].address, "127.0.0.1"]
    server            = true
    valid_days        = var.cert_valid_days
    renew_before_days = var.renew_before_days
  }
}

task "component kubeconfigs" {
  for_each = {
    "admin"              = { user = "admin", server = "https://127.0.0.1:${var.lb_port}" }
    "admin-deploy"       = { user = "admin", server = "https://${hosts[groups.kube_master[0]].address}:${var.apiserver_port}" }
    "controller-manager" = { user = "system:kube-controller-manager", server = "https://127.0.0.1:${var.lb_port}" }
    "scheduler"          = { user = "system:kube-scheduler", server = "https://127.0.0.1:${var.lb_port}" }
    "kube-proxy"         = { user = "system:kube-proxy", server = "https://127.0.0.1:${var.lb_port}" }
  }
  kubeconfig {
    dest    = "${var.pki_dir}/kubeconfig/${each.key}.kubeconfig"
    server  = each.value.server
    cluster = var.cluster_name
    user    = each.value.user
    ca_cert = "${var.pki_dir}/ca.pem"
    cert    = "${var.pki_dir}/kubernetes/${each.key == "admin-deploy" ? "admin" : each.key}.pem"
    key     = "${var.pki_dir}/kubernetes/${each.key == "admin-deploy" ? "admin" : each.key}-key.pem"
  }
}

task "kubelet kubeconfigs" {
  for_each = toset(groups.kube_node)
  kubeconfig {
    dest    = "${var.pki_dir}/kubeconfig/${each.key}-kubelet.kubeconfig"
    server  = "https://127.0.0.1:${var.lb_port}"
    cluster = var.cluster_name
    user    = "system:node:${each.key}"
    ca_cert = "${var.pki_dir}/ca.pem"
    cert    = "${var.pki_dir}/nodes/${each.key}-kubelet-client.pem"
    key     = "${var.pki_dir}/nodes/${each.key}-kubelet-client-key.pem"
  }
}
