# kube-apiserver on every master, bound and advertised on the node's address, talking to
# etcd over TLS, with RBAC and Node authorization and the aggregation layer. Its flags are
# those 1.24 accepts. The play that runs this role should use serial = 1, so a change
# restarts one apiserver at a time while the others (and nginx-lb) keep serving; on a stop
# an apiserver keeps serving for a few seconds and then answers "retry" to what still
# reaches it, which clients follow, so a restart loses no request.

variable "node_port_range" {
  type        = string
  default     = "30000-32767"
  description = "Ports NodePort services may use."
}

variable "apiserver_extra_args" {
  type        = map(string)
  default     = {}
  description = "More kube-apiserver flags, name (without --) to value; they override kplay's."
}

task "apiserver binaries" {
  for_each = toset(["kube-apiserver", "kubectl"])
  copy {
    src  = "${var.stage_dir}/kubernetes_server/server/bin/${each.key}"
    dest = "${var.bin_dir}/${each.key}"
    mode = "0755"
  }
  notify = ["restart kube-apiserver"]
}

task "kubernetes directories" {
  for_each = toset([var.kube_conf_dir, "${var.kube_conf_dir}/pki", "/root/.kube"])
  file {
    path = each.key
    mode = "0700"
  }
}

task "apiserver certificates" {
  for_each = {
    "ca.pem"                           = "ca.pem"
    "front-proxy-ca.pem"               = "front-proxy-ca.pem"
    "apiserver.pem"                    = "kubernetes/apiserver.pem"
    "apiserver-key.pem"                = "kubernetes/apiserver-key.pem"
    "apiserver-etcd-client.pem"        = "kubernetes/apiserver-etcd-client.pem"
    "apiserver-etcd-client-key.pem"    = "kubernetes/apiserver-etcd-client-key.pem"
    "apiserver-kubelet-client.pem"     = "kubernetes/apiserver-kubelet-client.pem"
    "apiserver-kubelet-client-key.pem" = "kubernetes/apiserver-kubelet-client-key.pem"
    "front-proxy-client.pem"           = "kubernetes/front-proxy-client.pem"
    "front-proxy-client-key.pem"       = "kubernetes/front-proxy-client-key.pem"
    "sa.pub"                           = "kubernetes/sa.pub"
    "sa.key"                           = "kubernetes/sa.key"
  }
  copy {
    src  = "${var.pki_dir}/${each.value}"
    dest = "${var.kube_conf_dir}/pki/${each.key}"
    mode = endswith(each.key, "-key.pem") || each.key == "sa.key" ? "0600" : "0644"
  }
  notify = ["restart kube-apiserver"]
}

task "admin kubeconfig" {
  copy {
    src  = "${var.pki_dir}/kubeconfig/admin.kubeconfig"
    dest = "/root/.kube/config"
    mode = "0600"
  }
}

task "apiserver unit" {
  template {
    src  = "kube-apiserver.service"
    dest = "/etc/systemd/system/kube-apiserver.service"
  }
  notify = ["restart kube-apiserver"]
}

task "start kube-apiserver" {
  systemd {
    name          = "kube-apiserver"
    enabled       = true
    state         = "started"
    daemon_reload = true
  }
}

task "apiserver ready" {
  wait_for {
    url     = "https://${host.address}:${var.apiserver_port}/readyz"
    ca_cert = "${var.kube_conf_dir}/pki/ca.pem"
    timeout = "120s"
  }
}

handler "restart kube-apiserver" {
  systemd {
    name          = "kube-apiserver"
    state         = "restarted"
    daemon_reload = true
  }
  notify = ["apiserver ready after restart"]
}

handler "apiserver ready after restart" {
  wait_for {
    url     = "https://${host.address}:${var.apiserver_port}/readyz"
    ca_cert = "${var.kube_conf_dir}/pki/ca.pem"
    timeout = "120s"
  }
}
