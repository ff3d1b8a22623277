play "p" {
  hosts = "etcd"
  roles = ["web"]
  vars = {
    web_port = 8080
  }
}
