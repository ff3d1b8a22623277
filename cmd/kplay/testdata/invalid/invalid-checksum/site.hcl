play "p" {
  hosts = "n1"
  task "touches n1 first" {
    file {
      path = "/etc/kplay"
    }
  }
  task "not hex" {
    download {
      url    = "file:///var/tmp/etcd.tar.gz"
      sha256 = "nothex" # ERROR: Invalid module argument
      dest   = "/var/lib/kplay/etcd.tar.gz"
    }
  }
  task "too short" {
    download {
      url    = "file:///var/tmp/etcd.tar.gz"
      sha512 = "abcdef" # ERROR: Invalid module argument
      dest   = "/var/lib/kplay/etcd.tar.gz"
    }
  }
}
