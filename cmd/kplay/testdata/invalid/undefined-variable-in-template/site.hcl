play "p" {
  hosts = "etcd"
  roles = ["web"]
}
