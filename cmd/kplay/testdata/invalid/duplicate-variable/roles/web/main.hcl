variable "web_port" {
  default = 80
}
