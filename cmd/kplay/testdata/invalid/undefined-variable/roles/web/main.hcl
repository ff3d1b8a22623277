variable "web_root" {
  type    = string
  default = "/srv/www"
}

task "root" {
  file {
    path = var.web_root
  }
}

task "port" {
  command {
    # DETAIL: Did you mean "web_port"?
    argv = ["echo", var.web_prot] # ERROR: Undefined variable
  }
}
