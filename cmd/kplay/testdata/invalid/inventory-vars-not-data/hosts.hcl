host "n1" {
  address = "127.0.0.1"
  port    = __PORT__
  vars = {
    node_ip = host.address # ERROR: Variables not allowed
  }
}

vars = {
  cluster_name = "lab"
  api_url      = "https://${var.cluster_name}:6443" # ERROR: Variables not allowed
}
