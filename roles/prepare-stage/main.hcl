# prepare-stage: fetch every pinned artifact onto the deploy host's stage directory, verify
# it against its pinned checksum, and unpack it. Other roles copy from the stage to nodes,
# so nodes never need to reach the internet. Runs on the deploy host.
#
# Layout: stage_dir/downloads/FILE is the artifact as published; stage_dir/NAME/ is its
# unpacked content (NAME as in artifacts.hcl, e.g. stage_dir/etcd/etcdctl).

variable "stage_artifacts" {
  type        = list(string)
  default     = ["kubernetes_server", "kubernetes_node", "kubernetes_client", "etcd", "containerd", "runc", "cni_plugins", "crictl", "nginx_source", "calico_manifest"]
  description = "Names of the artifacts (see artifacts.hcl) to stage."
  validation {
    condition     = length(var.stage_artifacts) > 0
    error_message = "stage_artifacts names no artifact: nothing would be staged."
  }
}

task "stage directory" {
  file {
    path = "${var.stage_dir}/downloads"
    mode = "0755"
  }
}

task "download artifacts" {
  for_each = { for name, a in var.artifacts : name => a if contains(var.stage_artifacts, name) }
  download {
    url    = each.value.url
    sha256 = each.value.sha256
    sha512 = each.value.sha512
    dest   = "${var.stage_dir}/downloads/${each.value.file}"
  }
}

task "unpack artifacts" {
  for_each = { for name, a in var.artifacts : name => a if contains(var.stage_artifacts, name) && a.unpack != null }
  unarchive {
    src              = "${var.stage_dir}/downloads/${each.value.file}"
    dest             = "${var.stage_dir}/${each.key}"
    strip_components = each.value.unpack.strip_components
  }
}

variable "offline_images" {
  type = map(object({
    ref    = string
    url    = string
    sha256 = string
  }))
  default     = {}
  description = "Image archives to stage for nodes that cannot pull (see the containerd role), by name."
}

task "stage image directory" {
  file {
    path = "${var.stage_dir}/images"
    mode = "0755"
  }
  when = length(var.offline_images) > 0
}

task "download offline images" {
  for_each = var.offline_images
  download {
    url    = each.value.url
    sha256 = each.value.sha256
    dest   = "${var.stage_dir}/images/${each.key}.tar"
  }
}
