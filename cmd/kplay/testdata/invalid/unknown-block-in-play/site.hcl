play "p" {
  hosts = "n1"
  # DETAIL: Did you mean "task"?
  tasks "t" { # ERROR: Unsupported block type
  }
}
