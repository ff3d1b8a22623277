play "p" {
  hosts = "n1"
  vars = {
    motd = "café" # ERROR: Invalid character encoding
  }
}
