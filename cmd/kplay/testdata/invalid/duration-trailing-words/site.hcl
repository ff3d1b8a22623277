play "p" {
  hosts = "n1"
  task "t" {
    command {
      argv = ["true"]
    }
    retries = 3
    delay   = "2 minutes" # ERROR: Invalid duration
  }
}
