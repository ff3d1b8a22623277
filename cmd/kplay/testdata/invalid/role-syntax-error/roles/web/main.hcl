task "t" {
  command {
    argv = ["true",] ]  # ERROR: Missing newline after argument
  }
}
