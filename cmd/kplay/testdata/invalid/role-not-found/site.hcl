play "p" {
  hosts = "etcd"
  # DETAIL: Did you mean "etcd"?
  roles = ["etdc"] # ERROR: Role not found
}
