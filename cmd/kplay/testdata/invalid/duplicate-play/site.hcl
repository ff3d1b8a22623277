play "etcd" {
  hosts = "etcd"
}

play "etcd" { # ERROR: Duplicate play
  hosts = "n1"
}
