play "p" {
  hosts = "n1"
  task "t" {
    # DETAIL: Did you mean "command"?
    comand { # ERROR: Unsupported block type
      argv = ["true"]
    }
  }
}
