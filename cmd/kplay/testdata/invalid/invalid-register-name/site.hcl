play "p" {
  hosts = "n1"
  task "check" {
    command {
      argv = ["true"]
    }
    register = "check-result" # ERROR: Invalid name
  }
}
