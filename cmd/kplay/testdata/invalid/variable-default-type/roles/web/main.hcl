variable "web_port" {
  type    = number
  default = "eighty" # ERROR: Invalid default value
}
