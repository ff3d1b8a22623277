play "p" {
  hosts = "n1"
  vars = {
    attempts = 5
  }
  task "t" {
    command {
      argv = ["true"]
    }
    retries = var.attempts # ERROR: Variables not allowed
  }
}
