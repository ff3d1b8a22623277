variable "web_port" {
  type    = number
  default = 80
  validation {
    condition     = "yes" # ERROR: Invalid validation condition
    error_message = "web_port must be a port."
  }
}
