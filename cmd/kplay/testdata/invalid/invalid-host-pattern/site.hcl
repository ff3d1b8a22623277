play "p" {
  # DETAIL: Did you mean "etcd"?
  hosts = "etdc" # ERROR: Invalid host pattern
}
