# nginx-lb: a TCP proxy on every node, in front of all apiservers. nginx is built once on
# the deploy host from the pinned source with the stream module only (no HTTP, so it needs
# neither PCRE nor zlib), then installed on each node as its own service, listening on
# 127.0.0.1:lb_port. Every component and the node's admin kubeconfig reach the API through
# it, so losing one apiserver costs nothing.

variable "lb_worker_connections" {
  type        = number
  default     = 4096
  description = "nginx worker_connections."
}

task "build nginx" {
  shell {
    cmd     = "./configure --prefix=/etc/kube-lb --with-stream --without-http --without-http-cache --without-pcre >configure.log 2>&1 || { tail -20 configure.log >&2; exit 1; }; make -j2 >make.log 2>&1 || { tail -20 make.log >&2; exit 1; }"
    chdir   = "${var.stage_dir}/nginx_source"
    creates = "${var.stage_dir}/nginx_source/objs/nginx"
  }
  delegate_to = "deploy"
  run_once    = true
}

task "kube-lb directories" {
  for_each = toset(["/etc/kube-lb", "/etc/kube-lb/conf", "/etc/kube-lb/logs"])
  file {
    path = each.key
    mode = "0755"
  }
}

task "kube-lb binary" {
  copy {
    src  = "${var.stage_dir}/nginx_source/objs/nginx"
    dest = "${var.bin_dir}/kube-lb"
    mode = "0755"
  }
  notify = ["restart kube-lb"]
}

task "kube-lb configuration" {
  template {
    src  = "kube-lb.conf"
    dest = "/etc/kube-lb/conf/kube-lb.conf"
  }
  notify = ["reload kube-lb"]
}

task "kube-lb unit" {
  template {
    src  = "kube-lb.service"
    dest = "/etc/systemd/system/kube-lb.service"
  }
  notify = ["restart kube-lb"]
}

task "start kube-lb" {
  systemd {
    name          = "kube-lb"
    enabled       = true
    state         = "started"
    daemon_reload = true
  }
}

task "kube-lb listens" {
  wait_for {
    port    = var.lb_port
    timeout = "30s"
  }
}

handler "restart kube-lb" {
  systemd {
    name          = "kube-lb"
    state         = "restarted"
    daemon_reload = true
  }
}

handler "reload kube-lb" {
  systemd {
    name  = "kube-lb"
    state = "reloaded"
  }
}
