task "unit" {
  template {
    src  = "web.service"
    dest = "/etc/systemd/system/web.service"
  }
}
