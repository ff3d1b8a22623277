# The four-op benchmark playbook: one task of each common kind, the same operations as
# ../ansible/fourop.yml. A second run changes nothing: the command is guarded by creates.
play "four ops" {
  hosts        = "all"
  gather_facts = false

  task "directory" {
    file {
      path  = "/opt/kbench"
      state = "directory"
      mode  = "0755"
    }
  }

  task "file from content" {
    copy {
      content = "written by the kplay benchmark\n"
      dest    = "/opt/kbench/content.txt"
      mode    = "0644"
    }
  }

  task "template" {
    template {
      src  = "bench.conf.tpl"
      dest = "/opt/kbench/bench.conf"
      mode = "0644"
    }
  }

  task "command" {
    command {
      argv    = ["sh", "-c", "hostname > /opt/kbench/cmd.out"]
      creates = "/opt/kbench/cmd.out"
    }
  }
}
