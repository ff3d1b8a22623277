play "p" {
  hosts = "n1"
  task "t" {
    file {
      path = "/srv/${each.key}" # ERROR: each outside for_each
    }
  }
  task "each in its own for_each" {
    for_each = toset([each.value]) # ERROR: each outside for_each
    file {
      path = "/srv/${each.key}"
    }
  }
}
