play "p" {
  hosts  = "n1"
  serial = "0%" # ERROR: Invalid serial
  task "t" {
    command { argv = ["true"] }
  }
}
play "q" {
  hosts               = "n1"
  max_fail_percentage = 101 # ERROR: Invalid value
  task "t" {
    command { argv = ["true"] }
  }
}
