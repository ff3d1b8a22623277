host "n1" {
  address = "127.0.0.1"
  port    = __PORT__
}

host "-n2" { # ERROR: Invalid host name
  address = "127.0.0.1"
  port    = __PORT__
}
