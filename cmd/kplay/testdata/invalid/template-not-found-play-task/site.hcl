play "p" {
  hosts = "etcd"
  task "unit" {
    template {
      src  = "web.service.tmpl" # ERROR: Template not found
      dest = "/etc/systemd/system/web.service"
    }
  }
}
