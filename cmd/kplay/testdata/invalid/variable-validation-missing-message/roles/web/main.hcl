variable "web_port" {
  type    = number
  default = 80
  validation { # ERROR: Missing required argument
    condition = var.web_port > 0
  }
}
