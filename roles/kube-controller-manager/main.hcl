# kube-controller-manager on every master, with leader election, its secure port on
# 127.0.0.1 and its authentication and authorization kubeconfigs. The CA key stays on the
# deploy host: kplay issues every certificate itself, so the CSR signing controller is not
# given a key and stays idle.

variable "controller_manager_extra_args" {
  type        = map(string)
  default     = {}
  description = "More kube-controller-manager flags, name (without --) to value; they override kplay's."
}

task "controller-manager binary" {
  copy {
    src  = "${var.stage_dir}/kubernetes_server/server/bin/kube-controller-manager"
    dest = "${var.bin_dir}/kube-controller-manager"
    mode = "0755"
  }
  notify = ["restart kube-controller-manager"]
}

task "controller-manager files" {
  for_each = {
    "pki/ca.pem"                    = "ca.pem"
    "pki/sa.key"                    = "kubernetes/sa.key"
    "controller-manager.kubeconfig" = "kubeconfig/controller-manager.kubeconfig"
  }
  copy {
    src  = "${var.pki_dir}/${each.value}"
    dest = "${var.kube_conf_dir}/${each.key}"
    mode = each.key == "pki/ca.pem" ? "0644" : "0600"
  }
  notify = ["restart kube-controller-manager"]
}

task "controller-manager unit" {
  template {
    src  = "kube-controller-manager.service"
    dest = "/etc/systemd/system/kube-controller-manager.service"
  }
  notify = ["restart kube-controller-manager"]
}

task "start kube-controller-manager" {
  systemd {
    name          = "kube-controller-manager"
    enabled       = true
    state         = "started"
    daemon_reload = true
  }
}

task "controller-manager healthy" {
  wait_for {
    url            = "https://127.0.0.1:10257/healthz"
    validate_certs = false
    timeout        = "90s"
  }
}

handler "restart kube-controller-manager" {
  systemd {
    name          = "kube-controller-manager"
    state         = "restarted"
    daemon_reload = true
  }
}
