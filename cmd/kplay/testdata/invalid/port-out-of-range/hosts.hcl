host "n1" {
  address = "127.0.0.1"
  port    = 70000 # ERROR: Invalid port
}

host "n2" {
  address = "127.0.0.1"
  port    = __PORT__
}
