# os: prepare every Kubernetes node and refuse a cluster that cannot work. Preflight checks
# run first and stop the run with a message before anything is changed: duplicate host
# names or machine-ids, an even number of etcd members, overlapping networks.

variable "kernel_modules" {
  type        = list(string)
  default     = ["overlay", "nf_conntrack"]
  description = "Kernel modules a node needs: loaded when missing; the run fails if one cannot be."
}

variable "kernel_modules_optional" {
  type        = list(string)
  default     = ["br_netfilter"]
  description = "Kernel modules loaded when the node can load them; a container host often cannot."
}

variable "max_clock_skew" {
  type        = number
  default     = 5
  description = "Seconds a node's clock may differ from the deploy host's: etcd and certificates need close clocks."
}

variable "required_ports" {
  type = map(string)
  default = {
    "2379"  = "etcd"
    "2380"  = "etcd"
    "6443"  = "kube-apiserver"
    "8443"  = "kube-lb"
    "10250" = "kubelet"
    "10257" = "kube-controller"
    "10259" = "kube-scheduler"
  }
  description = "TCP ports the cluster listens on, each with the process allowed to hold it (a prefix of its name as the kernel keeps it: at most 15 characters): held by anything else, the run stops."
}

variable "sysctls" {
  type = map(string)
  default = {
    "net.ipv4.ip_forward"                 = "1"
    "net.bridge.bridge-nf-call-iptables"  = "1"
    "net.bridge.bridge-nf-call-ip6tables" = "1"
  }
  description = "Kernel settings written to /etc/sysctl.d/95-kplay.conf; a key the kernel lacks is skipped."
}

task "unique host names" {
  assert {
    that = [
      length(distinct([for n in groups.kube_node : lower(hosts[n].facts.hostname)])) == length(groups.kube_node),
      length(distinct([for n in groups.kube_node : hosts[n].facts.machine_id])) == length(groups.kube_node),
    ]
    fail_msg = "nodes share a host name or a machine-id (cloned images?): give each its own"
  }
  run_once = true
  tags     = ["preflight"]
}

task "etcd quorum" {
  assert {
    that     = [length(groups.etcd) % 2 == 1]
    fail_msg = "the etcd group has an even number of members: a quorum needs an odd number"
  }
  run_once = true
  tags     = ["preflight"]
}

task "networks apart" {
  assert {
    that = [
      !cidrcontains(var.service_cidr, var.pod_cidr) && !cidrcontains(var.pod_cidr, var.service_cidr),
      alltrue([for n in groups.kube_node : !cidrcontains(var.pod_cidr, hosts[n].address) && !cidrcontains(var.service_cidr, hosts[n].address)]),
    ]
    fail_msg = "service_cidr, pod_cidr and the nodes' addresses overlap"
  }
  run_once = true
  tags     = ["preflight"]
}

task "node clock" {
  command {
    argv = ["date", "+%s"]
  }
  register     = "node_clock"
  changed_when = false
  tags         = ["preflight"]
}

task "clock skew" {
  assert {
    that     = [abs(tonumber(trimspace(registered.node_clock.stdout)) - unixtime()) <= var.max_clock_skew]
    fail_msg = "this node's clock differs from the deploy host's by more than max_clock_skew seconds: synchronize them (chrony, systemd-timesyncd)"
  }
  tags = ["preflight"]
}

task "ports free" {
  shell {
    cmd = <<-EOT
      bad=""
      %{for port, owner in var.required_ports~}
      held=$(ss -Hltnp "sport = :${port}" 2>/dev/null | grep -o 'users:(("[^"]*"' | head -1 | cut -d'"' -f2)
      case "$held" in ""|${owner}*) ;; *) bad="$bad ${port}($held)";; esac
      %{endfor~}
      [ -z "$bad" ] || { echo "ports held by other programs:$bad" >&2; exit 1; }
    EOT
  }
  changed_when = false
  tags         = ["preflight"]
}

task "host name is lower case" {
  assert {
    that     = [facts.hostname == lower(facts.hostname)]
    fail_msg = "Kubernetes node names are lower case: rename the host"
  }
  tags = ["preflight"]
}

task "swap off" {
  shell {
    cmd = "swapoff -a && sed -i.kplay-bak '/^[^#].*[[:space:]]swap[[:space:]]/ s/^/#/' /etc/fstab"
  }
  when = facts.swap_on
}

# A kernel without loadable modules, or a container, has no /proc/modules: then nothing can
# be loaded and the kernel (or the container's host) must provide the feature itself.
task "kernel modules" {
  for_each = toset(concat(var.kernel_modules, var.kernel_modules_optional))
  shell {
    cmd = <<-EOT
      m=${shellquote(each.key)}
      if [ -d "/sys/module/$m" ] || grep -qs "^$m " /proc/modules; then echo loaded
      elif [ ! -e /proc/modules ]; then echo "no loadable modules here"
      elif modprobe "$m"; then echo modprobed
      else echo unavailable; ${contains(var.kernel_modules, each.key) ? "exit 1" : "true"}
      fi
    EOT
  }
  register     = "modules"
  changed_when = strcontains(registered.modules.stdout, "modprobed")
}

task "kernel settings" {
  copy {
    content = join("", [for k in sort(keys(var.sysctls)) : "${k} = ${var.sysctls[k]}\n"])
    dest    = "/etc/sysctl.d/95-kplay.conf"
  }
  notify = ["apply kernel settings"]
}

# Containers (systemd-nspawn, LXC) have no /dev/kmsg; kubelet reads it, and the console is
# what container managers offer instead. tmpfiles makes the link again at every boot.
task "kmsg in a container" {
  copy {
    content = "L /dev/kmsg - - - - /dev/console\n"
    dest    = "/etc/tmpfiles.d/kplay-kmsg.conf"
  }
  when   = facts.virtualization != "none" && facts.virtualization != "kvm" && facts.virtualization != "vmware" && facts.virtualization != "xen" && facts.virtualization != "microsoft" && facts.virtualization != "oracle"
  notify = ["create kmsg link"]
}

handler "apply kernel settings" {
  shell {
    cmd = "sysctl -e -q -p /etc/sysctl.d/95-kplay.conf || true"
  }
}

handler "create kmsg link" {
  command {
    argv = ["systemd-tmpfiles", "--create", "/etc/tmpfiles.d/kplay-kmsg.conf"]
  }
}
