variable "web-port" { # ERROR: Invalid variable name
  default = 80
}
