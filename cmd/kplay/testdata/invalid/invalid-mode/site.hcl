play "p" {
  hosts = "n1"
  task "not octal" {
    file {
      path = "/etc/kplay"
      mode = "0999" # ERROR: Invalid module argument
    }
  }
  task "a bool" {
    file {
      path = "/etc/kplay"
      mode = true # ERROR: Invalid module argument
    }
  }
}
