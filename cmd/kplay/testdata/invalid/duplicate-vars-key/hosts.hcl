host "n1" {
  address = "127.0.0.1"
  port    = __PORT__
}

vars = {
  stage_dir = "/stage"
  stage_dir = "/var/stage" # ERROR: Duplicate variable
}
