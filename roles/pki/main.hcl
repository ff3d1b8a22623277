# pki: the cluster's certificate authority and the certificates signed by it, kept in the
# state directory beside the inventory. Runs on the deploy host; the CA key never leaves it.
#
# A valid CA is never replaced. A certificate is reissued only when it is missing, expires
# within renew_before_days, is not signed by the CA, or no longer matches what the inventory
# asks for (subject or SANs); its key is kept when it is still good.

variable "ca_common_name" {
  type        = string
  default     = "kplay-ca"
  description = "Subject CN of a new cluster CA (an existing CA is kept as it is)."
}

variable "ca_valid_days" {
  type        = number
  default     = 3650
  description = "Validity of a new CA, in days."
}

variable "cert_valid_days" {
  type        = number
  default     = 365
  description = "Validity of a new certificate, in days."
}

variable "renew_before_days" {
  type        = number
  default     = 30
  description = "A certificate expiring within this many days is reissued."
}

variable "etcd_extra_sans" {
  type        = list(string)
  default     = []
  description = "Extra names and addresses for every etcd server certificate (a load balancer, a DNS alias)."
}

task "pki directories" {
  for_each = toset([var.pki_dir, "${var.pki_dir}/etcd"])
  file {
    path = each.key
    mode = "0700"
  }
}

task "cluster CA" {
  pki {
    is_ca       = true
    cert        = "${var.pki_dir}/ca.pem"
    key         = "${var.pki_dir}/ca-key.pem"
    common_name = var.ca_common_name
    valid_days  = var.ca_valid_days
  }
}

task "etcd server certificates" {
  for_each = toset(groups.etcd)
  pki {
    ca_cert           = "${var.pki_dir}/ca.pem"
    ca_key            = "${var.pki_dir}/ca-key.pem"
    cert              = "${var.pki_dir}/etcd/${each.key}-server.pem"
    key               = "${var.pki_dir}/etcd/${each.key}-server-key.pem"
    common_name       = each.key
    dns_names         = concat([each.key, "localhost"], [for s in var.etcd_extra_sans : s if !can(cidrhost("${s}/32", 0))])
    ip_addresses      = concat([hosts[each.key].address, "127.0.0.1"], [for s in var.etcd_extra_sans : s if can(cidrhost("${s}/32", 0))])
    server            = true
    client            = true
    valid_days        = var.cert_valid_days
    renew_before_days = var.renew_before_days
  }
}

task "etcd peer certificates" {
  for_each = toset(groups.etcd)
  pki {
    ca_cert           = "${var.pki_dir}/ca.pem"
    ca_key            = "${var.pki_dir}/ca-key.pem"
    cert              = "${var.pki_dir}/etcd/${each.key}-peer.pem"
    key               = "${var.pki_dir}/etcd/${each.key}-peer-key.pem"
    common_name       = each.key
    dns_names         = [each.key, "localhost"]
    ip_addresses      = [hosts[each.key].address, "127.0.0.1"]
    server            = true
    client            = true
    valid_days        = var.cert_valid_days
    renew_before_days = var.renew_before_days
  }
}

task "etcd client certificate" {
  pki {
    ca_cert           = "${var.pki_dir}/ca.pem"
    ca_key            = "${var.pki_dir}/ca-key.pem"
    cert              = "${var.pki_dir}/etcd/client.pem"
    key               = "${var.pki_dir}/etcd/client-key.pem"
    common_name       = "etcd-client"
    client            = true
    valid_days        = var.cert_valid_days
    renew_before_days = var.renew_before_days
  }
}
