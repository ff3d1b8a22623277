defaults {
  port = 0 # ERROR: Invalid port
}

host "n1" {
  address = "127.0.0.1"
  port    = __PORT__
}

host "n2" {
  address = "127.0.0.1"
}
