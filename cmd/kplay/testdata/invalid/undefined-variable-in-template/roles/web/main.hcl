variable "web_port" {
  type    = number
  default = 80
}

task "unit" {
  template {
    src  = "web.service"
    dest = "/etc/systemd/system/web.service"
  }
}
