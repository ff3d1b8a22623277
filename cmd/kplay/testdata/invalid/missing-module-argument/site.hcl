play "p" {
  hosts = "n1"
  task "t" {
    # DETAIL: The argument "path" is required
    file { # ERROR: Missing required argument
      mode = "0755"
    }
  }
}
