host "n1" {
  address = "127.0.0.1"
  port    = "ssh" # ERROR: Invalid value
}

host "n2" {
  address = "127.0.0.1"
  port    = __PORT__
}
