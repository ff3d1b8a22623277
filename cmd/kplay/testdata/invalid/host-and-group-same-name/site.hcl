play "p" {
  hosts = "n1"
  task "t" {
    command {
      argv = ["true"]
    }
  }
}
