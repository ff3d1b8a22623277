play "p" {
  hosts = "n1"
  task "t" {
    command {
      argv = ["true"]
    }
    retries = 3
    delay   = "abc" # ERROR: Invalid duration
  }
}
