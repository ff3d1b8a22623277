play "p" {
  hosts = "n1"
  task "t" {
    command {
      argv = ["true"]
    }
    notify = ["reload"] # ERROR: Unknown handler
  }
}
