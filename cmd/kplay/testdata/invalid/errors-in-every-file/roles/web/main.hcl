task "t" {
  command {
    argv = ["true"]
    chdr = "/" # ERROR: Unsupported argument
  }
}
