# The distribution benchmark: the staged control-plane binaries and etcd, copied to every
# host. Run with -e k8s_bin=DIR -e etcd_bin=FILE. A second run must send nothing.
play "distribute binaries" {
  hosts        = "all"
  gather_facts = false

  task "directory" {
    file {
      path  = "/opt/kbench-dist"
      state = "directory"
    }
  }

  task "kube-apiserver" {
    copy {
      src  = "${var.k8s_bin}/kube-apiserver"
      dest = "/opt/kbench-dist/kube-apiserver"
      mode = "0755"
    }
  }

  task "kube-controller-manager" {
    copy {
      src  = "${var.k8s_bin}/kube-controller-manager"
      dest = "/opt/kbench-dist/kube-controller-manager"
      mode = "0755"
    }
  }

  task "kube-scheduler" {
    copy {
      src  = "${var.k8s_bin}/kube-scheduler"
      dest = "/opt/kbench-dist/kube-scheduler"
      mode = "0755"
    }
  }

  task "kubelet" {
    copy {
      src  = "${var.k8s_bin}/kubelet"
      dest = "/opt/kbench-dist/kubelet"
      mode = "0755"
    }
  }

  task "kubectl" {
    copy {
      src  = "${var.k8s_bin}/kubectl"
      dest = "/opt/kbench-dist/kubectl"
      mode = "0755"
    }
  }

  task "etcd" {
    copy {
      src  = var.etcd_bin
      dest = "/opt/kbench-dist/etcd"
      mode = "0755"
    }
  }
}
