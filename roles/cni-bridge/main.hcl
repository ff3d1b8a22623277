# cni-bridge: a pod network without an overlay, for clusters on one L2 segment that do not
# run calico. Each node bridges its pods on its own range of pod_cidr (host-local IPAM) and
# routes every other node's range to that node's address (host gateway). Uses only the
# pinned cni-plugins, so it works where calico's images cannot be pulled.

variable "node_pod_prefix" {
  type        = number
  default     = 24
  description = "Prefix length of each node's pod range."
}

variable "node_pod_cidr" {
  type        = string
  default     = cidrsubnet(var.pod_cidr, var.node_pod_prefix - tonumber(split("/", var.pod_cidr)[1]), index(groups.kube_node, host.name))
  description = "This node's pod range; by default the node's position in kube_node picks it."
}

variable "bridge_name" {
  type        = string
  default     = "cni0"
  description = "Name of the pods' bridge."
}

block "bridge network" {
  when = var.network_plugin == "cni-bridge"

  task "cni configuration" {
    template {
      src  = "10-kplay-bridge.conflist"
      dest = "/etc/cni/net.d/10-kplay-bridge.conflist"
    }
  }

  task "routes to other nodes' pods" {
    template {
      src  = "kplay-pod-routes.service"
      dest = "/etc/systemd/system/kplay-pod-routes.service"
    }
    notify = ["apply pod routes"]
  }

  task "pod routes at boot" {
    systemd {
      name          = "kplay-pod-routes"
      enabled       = true
      state         = "started"
      daemon_reload = true
    }
  }
}

handler "apply pod routes" {
  systemd {
    name          = "kplay-pod-routes"
    state         = "restarted"
    daemon_reload = true
  }
}
