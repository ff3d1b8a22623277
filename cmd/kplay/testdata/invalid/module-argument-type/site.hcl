play "p" {
  hosts = "n1"
  task "argv is a list" {
    command {
      argv = "systemctl restart etcd" # ERROR: Invalid value for module argument
    }
  }
  task "enabled is a bool" {
    systemd {
      name    = "etcd"
      enabled = "sometimes" # ERROR: Invalid value for module argument
    }
  }
}
