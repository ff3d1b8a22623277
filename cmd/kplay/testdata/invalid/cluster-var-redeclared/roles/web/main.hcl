variable "service_cidr" { # ERROR: Cluster variable declared again
  type    = string
  default = "10.0.0.0/16"
}

task "t" {
  command { argv = ["true"] }
}
