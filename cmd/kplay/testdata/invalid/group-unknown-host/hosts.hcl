host "n1" {
  address = "127.0.0.1"
  port    = __PORT__
}

group "etcd" {
  # DETAIL: Did you mean "n1"?
  hosts = ["n1", "n11"] # ERROR: Unknown host
}
