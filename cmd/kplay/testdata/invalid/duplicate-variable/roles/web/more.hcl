variable "web_port" { # ERROR: Duplicate variable
  default = 8080
}
