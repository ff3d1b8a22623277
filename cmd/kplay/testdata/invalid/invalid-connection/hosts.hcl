host "n1" {
  address    = "127.0.0.1"
  port       = __PORT__
  connection = "winrm" # ERROR: Invalid connection
}
