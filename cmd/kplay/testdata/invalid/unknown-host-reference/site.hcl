play "p" {
  hosts = "n1"
  task "t" {
    debug {
      msg = hosts["n9"].address # ERROR: Unknown host
    }
  }
}
