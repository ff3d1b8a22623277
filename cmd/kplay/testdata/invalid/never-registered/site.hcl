play "p" {
  hosts = "n1"
  task "check" {
    command {
      argv = ["true"]
    }
    register = "check_result"
  }
  task "use" {
    debug {
      # DETAIL: Did you mean "check_result"?
      msg = registered.check_reslt.rc # ERROR: Unknown registered result
    }
  }
}
