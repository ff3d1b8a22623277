variable "web_port" {
  type    = number
  default = 80
  validation {
    condition     = var.web_prot > 0 # ERROR: Undefined variable
    error_message = "web_port must be a port."
  }
}
