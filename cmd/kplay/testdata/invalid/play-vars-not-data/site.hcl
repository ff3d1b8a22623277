play "p" {
  hosts = "n1"
  vars = {
    data_dir = "${var.prefix}/data" # ERROR: Variables not allowed
  }
}
