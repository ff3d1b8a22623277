# DETAIL: The argument "hosts" is required
play "p" { # ERROR: Missing required argument
  roles = []
}
