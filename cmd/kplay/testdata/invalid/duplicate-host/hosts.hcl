host "n1" {
  address = "127.0.0.1"
  port    = __PORT__
}

host "n1" { # ERROR: Duplicate host
  address = "127.0.0.1"
  port    = __PORT__
}
