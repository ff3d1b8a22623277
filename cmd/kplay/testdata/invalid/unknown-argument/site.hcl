play "p" {
  hosts        = "n1"
  # DETAIL: Did you mean "gather_facts"?
  gather_fact = false # ERROR: Unsupported argument
}
