host "n1" {
  address = "127.0.0.1"
  port    = __PORT__
}

group "n1" { # ERROR: Duplicate name
  hosts = ["n1"]
}
