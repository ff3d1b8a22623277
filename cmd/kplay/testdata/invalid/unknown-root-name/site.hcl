play "p" {
  hosts = "n1"
  task "t" {
    command {
      argv = ["echo", foo.bar] # ERROR: Unknown name
    }
  }
  task "typo of facts" {
    command {
      # DETAIL: Did you mean "facts"?
      argv = ["echo", fact.hostname] # ERROR: Unknown name
    }
  }
}
