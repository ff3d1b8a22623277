play "p" {
  hosts = "n1"
  task "relative dest" {
    copy {
      content = "x"
      dest    = "etc/motd" # ERROR: Invalid value for module argument
    }
  }
  task "relative creates" {
    command {
      argv    = ["true"]
      creates = "done" # ERROR: Invalid value for module argument
    }
  }
}
