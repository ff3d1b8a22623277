play "p" {
  hosts = "etcd"
  task "motd" {
    template {
      src  = "motd"
      dest = "/etc/motd"
    }
  }
}
