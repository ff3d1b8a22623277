host "n1" {
  address = "127.0.0.1"
  port    = __PORT__
}

group "k8s" {
  children = ["masters"]
}

group "masters" { # ERROR: Cycle in group children
  hosts    = ["n1"]
  children = ["control_plane"]
}

group "control_plane" {
  children = ["masters"]
}
