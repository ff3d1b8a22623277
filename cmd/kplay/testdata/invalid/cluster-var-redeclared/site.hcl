play "p" {
  hosts = "n1"
  roles = ["web"]
}
