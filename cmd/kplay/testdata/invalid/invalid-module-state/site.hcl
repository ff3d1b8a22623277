play "p" {
  hosts = "n1"
  task "t" {
    systemd {
      name  = "etcd"
      state = "runing" # ERROR: Invalid module argument
    }
  }
}
