play "p" {
  hosts = "n1"
  tags  = [café] # ERROR: Invalid character encoding
}
