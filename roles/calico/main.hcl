# calico: applies the pinned upstream manifest with the pod network and the encapsulation
# of this cluster substituted, and waits for its objects to exist. Its images come from
# docker.io: a site without access needs them in a registry mirror (or offline_images).

variable "calico_ipip" {
  type        = string
  default     = "Always"
  description = "CALICO_IPV4POOL_IPIP: Always, CrossSubnet or Never."
  validation {
    condition     = contains(["Always", "CrossSubnet", "Never"], var.calico_ipip)
    error_message = "calico_ipip is Always, CrossSubnet or Never."
  }
}

variable "calico_vxlan" {
  type        = string
  default     = "Never"
  description = "CALICO_IPV4POOL_VXLAN: Always, CrossSubnet or Never."
  validation {
    condition     = contains(["Always", "CrossSubnet", "Never"], var.calico_vxlan)
    error_message = "calico_vxlan is Always, CrossSubnet or Never."
  }
}

block "calico network" {
  when = var.network_plugin == "calico"

  task "addons directory" {
    file {
      path = "${var.kube_conf_dir}/addons"
      mode = "0755"
    }
    run_once = true
  }

  # The upstream manifest leaves the pool CIDR commented out and sets IPIP to Always; the
  # replacements below are the only changes made to it.
  task "calico manifest" {
    copy {
      content = replace(
        replace(
          replace(
            file("${var.stage_dir}/downloads/${var.artifacts.calico_manifest.file}"),
            "# - name: CALICO_IPV4POOL_CIDR\n            #   value: \"192.168.0.0/16\"",
            "- name: CALICO_IPV4POOL_CIDR\n              value: \"${var.pod_cidr}\"",
          ),
          "- name: CALICO_IPV4POOL_IPIP\n              value: \"Always\"",
          "- name: CALICO_IPV4POOL_IPIP\n              value: \"${var.calico_ipip}\"",
        ),
        "- name: CALICO_IPV4POOL_VXLAN\n              value: \"Never\"",
        "- name: CALICO_IPV4POOL_VXLAN\n              value: \"${var.calico_vxlan}\"",
      )
      dest = "${var.kube_conf_dir}/addons/calico.yaml"
    }
    run_once = true
  }

  task "apply calico" {
    command {
      argv = ["${var.bin_dir}/kubectl", "apply", "-f", "${var.kube_conf_dir}/addons/calico.yaml"]
    }
    register     = "calico_apply"
    changed_when = strcontains(registered.calico_apply.stdout, "created") || strcontains(registered.calico_apply.stdout, "configured")
    run_once     = true
  }

  task "calico objects exist" {
    command {
      argv = ["${var.bin_dir}/kubectl", "-n", "kube-system", "get", "daemonset/calico-node", "deployment/calico-kube-controllers", "crd/ippools.crd.projectcalico.org"]
    }
    changed_when = false
    run_once     = true
  }
}
