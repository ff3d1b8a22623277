# The one SSH host points at the test's listener; nothing may ever connect to it.
host "n1" {
  address = "127.0.0.1"
  port    = __PORT__
}

group "etcd" {
  hosts = ["n1"]
}
