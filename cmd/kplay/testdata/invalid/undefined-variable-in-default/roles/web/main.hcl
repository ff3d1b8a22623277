variable "web_root" {
  type    = string
  default = "${var.prefix}/www" # ERROR: Undefined variable
}

task "root" {
  file {
    path = var.web_root
  }
}
