play "p" {
  hosts = "n1"
  task "negative retries" {
    command { argv = ["true"] }
    retries = -1 # ERROR: Invalid value
  }
  task "negative delay" {
    command { argv = ["true"] }
    delay = "-5s" # ERROR: Invalid duration
  }
}
