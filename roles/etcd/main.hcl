# etcd: a TLS etcd cluster on the etcd group, from the staged binaries and the certificates
# the pki role made. All members are started without waiting for one another (a new member
# of Type=notify only reports ready once a quorum exists, so starting them one by one would
# wait forever), then each member's health is checked.

variable "etcd_data_dir" {
  type        = string
  default     = "/var/lib/etcd"
  description = "etcd's data directory on each member. Never wiped by kplay."
}

variable "etcd_conf_dir" {
  type        = string
  default     = "/etc/etcd"
  description = "Where certificates for etcd live on each member."
}

variable "etcd_peer_port" {
  type        = number
  default     = 2380
  description = "Port for peers (TLS)."
}

variable "etcd_cluster_token" {
  type        = string
  default     = "kplay-etcd"
  description = "initial-cluster-token: keeps members of different clusters apart."
}

variable "etcd_initial_cluster_state" {
  type        = string
  default     = "new"
  description = "\"new\" to form a cluster; \"existing\" for a member joining a running one. Ignored by a member that has data."
  validation {
    condition     = contains(["new", "existing"], var.etcd_initial_cluster_state)
    error_message = "etcd_initial_cluster_state is \"new\" or \"existing\"."
  }
}

variable "etcd_heartbeat_interval" {
  type        = number
  default     = 250
  description = "Heartbeat interval in milliseconds."
}

variable "etcd_election_timeout" {
  type        = number
  default     = 2500
  description = "Election timeout in milliseconds (at least 5 heartbeats)."
  validation {
    condition     = var.etcd_election_timeout >= 5 * var.etcd_heartbeat_interval
    error_message = "etcd_election_timeout must be at least five times etcd_heartbeat_interval."
  }
}

variable "etcd_quota_backend_bytes" {
  type        = number
  default     = 8589934592
  description = "Backend quota in bytes."
}

variable "etcdctl" {
  type = list(string)
  default = [
    "${var.bin_dir}/etcdctl",
    "--endpoints=https://127.0.0.1:${var.etcd_client_port}",
    "--cacert=${var.etcd_conf_dir}/pki/ca.pem",
    "--cert=${var.etcd_conf_dir}/pki/client.pem",
    "--key=${var.etcd_conf_dir}/pki/client-key.pem",
  ]
  description = "etcdctl talking to the local member over TLS, as the health checks run it."
}

task "etcd directories" {
  for_each = { (var.etcd_conf_dir) = "0755", "${var.etcd_conf_dir}/pki" = "0700", (var.etcd_data_dir) = "0700" }
  file {
    path = each.key
    mode = each.value
  }
}

task "etcd binaries" {
  for_each = toset(["etcd", "etcdctl"])
  copy {
    src  = "${var.stage_dir}/etcd/${each.key}"
    dest = "${var.bin_dir}/${each.key}"
    mode = "0755"
  }
  notify = ["restart etcd"]
}

task "etcd certificates" {
  for_each = {
    "ca.pem"         = "${var.pki_dir}/ca.pem"
    "server.pem"     = "${var.pki_dir}/etcd/${host.name}-server.pem"
    "server-key.pem" = "${var.pki_dir}/etcd/${host.name}-server-key.pem"
    "peer.pem"       = "${var.pki_dir}/etcd/${host.name}-peer.pem"
    "peer-key.pem"   = "${var.pki_dir}/etcd/${host.name}-peer-key.pem"
    "client.pem"     = "${var.pki_dir}/etcd/client.pem"
    "client-key.pem" = "${var.pki_dir}/etcd/client-key.pem"
  }
  copy {
    src  = each.value
    dest = "${var.etcd_conf_dir}/pki/${each.key}"
    mode = endswith(each.key, "-key.pem") ? "0600" : "0644"
  }
  notify = ["restart etcd"]
}

task "etcd unit" {
  template {
    src  = "etcd.service"
    dest = "/etc/systemd/system/etcd.service"
  }
  notify = ["restart etcd"]
}

task "start etcd" {
  systemd {
    name          = "etcd"
    enabled       = true
    state         = "started"
    daemon_reload = true
    no_block      = true
  }
}

task "etcd member healthy" {
  command {
    argv = concat(var.etcdctl, ["endpoint", "health"])
  }
  register     = "etcd_health"
  until        = registered.etcd_health.rc == 0
  retries      = 60
  delay        = "2s"
  changed_when = false
}

handler "restart etcd" {
  systemd {
    name          = "etcd"
    state         = "restarted"
    daemon_reload = true
    no_block      = true
  }
  notify = ["etcd healthy after restart"]
}

handler "etcd healthy after restart" {
  command {
    argv = concat(var.etcdctl, ["endpoint", "health"])
  }
  register     = "etcd_restart_health"
  until        = registered.etcd_restart_health.rc == 0
  retries      = 60
  delay        = "2s"
  changed_when = false
}
