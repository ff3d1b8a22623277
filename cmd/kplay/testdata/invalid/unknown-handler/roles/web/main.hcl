task "config" {
  copy {
    content = "port = 80\n"
    dest    = "/etc/web.conf"
  }
  # DETAIL: Did you mean "restart web"?
  notify = ["restart wbe"] # ERROR: Unknown handler
}

handler "restart web" {
  systemd {
    name  = "web"
    state = "restarted"
  }
}
