play "p" {
  hosts = "n1"
  task "t" {
    command {
      argv = ["true"]
    }
    shell { # ERROR: More than one module block
      cmd = "true"
    }
  }
}
