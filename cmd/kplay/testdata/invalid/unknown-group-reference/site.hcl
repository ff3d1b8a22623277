play "p" {
  hosts = "n1"
  task "t" {
    debug {
      # DETAIL: Did you mean "etcd"?
      msg = groups.etdc # ERROR: Unknown group
    }
  }
}
