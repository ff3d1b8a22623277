# containerd: the container runtime of every node, with runc, the CNI plugins and crictl
# (when its artifact is staged) from the stage, configured for the kubelet (systemd cgroups,
# the sandbox image), and offline image archives imported into the k8s.io namespace.

variable "containerd_binaries" {
  type        = list(string)
  default     = ["containerd", "containerd-shim-runc-v2", "ctr"]
  description = "Binaries of the containerd archive to install."
}

variable "cni_plugins" {
  type        = list(string)
  default     = ["bridge", "host-local", "loopback", "portmap"]
  description = "CNI plugins installed into /opt/cni/bin."
}

variable "offline_images" {
  type = map(object({
    ref    = string
    url    = string
    sha256 = string
  }))
  default     = {}
  description = "Image archives (OCI or docker save) to import, by name; prepare-stage downloads them into stage_dir/images."
}

variable "restrict_oom_score_adj" {
  type        = bool
  default     = !facts.can_lower_oom_score
  description = "Keep runc and containerd from lowering OOM scores, which a node without CAP_SYS_RESOURCE (a container) cannot do. Decided from the node's facts unless set."
}

task "containerd directories" {
  for_each = toset(["/etc/containerd", "/opt/cni/bin", "/etc/cni/net.d", "/var/lib/kplay/images"])
  file {
    path = each.key
    mode = "0755"
  }
}

task "containerd binaries" {
  for_each = toset(var.containerd_binaries)
  copy {
    src  = "${var.stage_dir}/containerd/${each.key}"
    dest = "${var.bin_dir}/${each.key}"
    mode = "0755"
  }
  notify = ["restart containerd"]
}

task "runc" {
  copy {
    src  = "${var.stage_dir}/downloads/${var.artifacts.runc.file}"
    dest = "${var.bin_dir}/runc"
    mode = "0755"
  }
}

task "cni plugins" {
  for_each = toset(var.cni_plugins)
  copy {
    src  = "${var.stage_dir}/cni_plugins/${each.key}"
    dest = "/opt/cni/bin/${each.key}"
    mode = "0755"
  }
}

task "crictl" {
  copy {
    src  = "${var.stage_dir}/crictl/crictl"
    dest = "${var.bin_dir}/crictl"
    mode = "0755"
  }
  when = fileexists("${var.stage_dir}/crictl/crictl")
}

task "crictl configuration" {
  copy {
    content = "runtime-endpoint: unix:///run/containerd/containerd.sock\nimage-endpoint: unix:///run/containerd/containerd.sock\n"
    dest    = "/etc/crictl.yaml"
  }
}

task "containerd configuration" {
  template {
    src  = "config.toml"
    dest = "/etc/containerd/config.toml"
  }
  notify = ["restart containerd"]
}

task "containerd unit" {
  template {
    src  = "containerd.service"
    dest = "/etc/systemd/system/containerd.service"
  }
  notify = ["restart containerd"]
}

task "start containerd" {
  systemd {
    name          = "containerd"
    enabled       = true
    state         = "started"
    daemon_reload = true
  }
}

task "containerd answers" {
  command {
    argv = ["${var.bin_dir}/ctr", "version"]
  }
  register     = "ctr_version"
  until        = registered.ctr_version.rc == 0
  retries      = 15
  delay        = "1s"
  changed_when = false
}

task "offline image archives" {
  for_each = var.offline_images
  copy {
    src  = "${var.stage_dir}/images/${each.key}.tar"
    dest = "/var/lib/kplay/images/${each.key}.tar"
  }
}

task "import offline images" {
  for_each = var.offline_images
  shell {
    cmd = "${var.bin_dir}/ctr -n k8s.io images ls -q | grep -qxF ${shellquote(each.value.ref)} && echo present || ${var.bin_dir}/ctr -n k8s.io images import --all-platforms /var/lib/kplay/images/${each.key}.tar"
  }
  register     = "imports"
  changed_when = !strcontains(registered.imports.stdout, "present")
}

handler "restart containerd" {
  systemd {
    name          = "containerd"
    state         = "restarted"
    daemon_reload = true
  }
}
