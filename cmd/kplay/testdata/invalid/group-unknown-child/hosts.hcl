host "n1" {
  address = "127.0.0.1"
  port    = __PORT__
}

group "etcd" {
  hosts = ["n1"]
}

group "k8s" {
  # DETAIL: Did you mean "etcd"?
  children = ["etc"] # ERROR: Unknown group
}
