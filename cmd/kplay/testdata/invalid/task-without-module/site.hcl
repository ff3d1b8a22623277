play "p" {
  hosts = "n1"
  task "nothing to do" { # ERROR: Missing module block
    tags = ["x"]
  }
}
