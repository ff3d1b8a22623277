# kube-scheduler on every master, with leader election and its secure port on 127.0.0.1.

task "scheduler binary" {
  copy {
    src  = "${var.stage_dir}/kubernetes_server/server/bin/kube-scheduler"
    dest = "${var.bin_dir}/kube-scheduler"
    mode = "0755"
  }
  notify = ["restart kube-scheduler"]
}

task "scheduler kubeconfig" {
  copy {
    src  = "${var.pki_dir}/kubeconfig/scheduler.kubeconfig"
    dest = "${var.kube_conf_dir}/scheduler.kubeconfig"
    mode = "0600"
  }
  notify = ["restart kube-scheduler"]
}

task "scheduler unit" {
  template {
    src  = "kube-scheduler.service"
    dest = "/etc/systemd/system/kube-scheduler.service"
  }
  notify = ["restart kube-scheduler"]
}

task "start kube-scheduler" {
  systemd {
    name          = "kube-scheduler"
    enabled       = true
    state         = "started"
    daemon_reload = true
  }
}

task "scheduler healthy" {
  wait_for {
    url            = "https://127.0.0.1:10259/healthz"
    validate_certs = false
    timeout        = "90s"
  }
}

handler "restart kube-scheduler" {
  systemd {
    name          = "kube-scheduler"
    state         = "restarted"
    daemon_reload = true
  }
}
