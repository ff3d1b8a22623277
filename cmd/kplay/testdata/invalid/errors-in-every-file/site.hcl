play "p" {
  hosts = "etcd"
  roles = ["web"]
  becom = true # ERROR: Unsupported argument
}
