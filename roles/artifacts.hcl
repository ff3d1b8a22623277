# Artifact pins: for every component of the binary cluster, the upstream download URL and the
# checksum upstream publishes for that exact file. prepare-stage fetches each artifact into
# stage_dir/<name>/, refuses it unless the checksum matches, and unpacks it when `unpack` is set.
#
# An inventory overrides any field per artifact through the `artifacts` variable, keyed by the
# block name, e.g. artifacts = { etcd = { version = "3.4.23", sha256 = "..." } }. `url` is
# evaluated with only the artifact's own `version` in scope, so overriding `version` also moves
# the URL; an override that changes `version` must bring the checksum of the new file too.
# The `mirror` variable maps URL prefixes to replacements for sites that cannot reach upstream,
# e.g. mirror = { "https://github.com/" = "http://mirror.internal/github/" }.
#
# Where upstream publishes only sha512 for a file, the pin carries `sha512` instead of `sha256`.
# An artifact with neither is never downloaded: the inventory has to supply one.

artifact "kubernetes_server" {
  version = "1.24.6"
  url     = "https://dl.k8s.io/v${version}/kubernetes-server-linux-amd64.tar.gz"
  # Upstream publishes only sha512 for the release tarballs.
  sha512 = "aff97c9453a749126e0740fe66a5d2bbb47f8517b9520d6fa8ae340d3efe60079ae8dd99fee4871f4d15bc81a8135d4e90dfdae1f54fb8f5a043c79498acc0bf"
  # Yields server/bin/{kube-apiserver,kube-controller-manager,kube-scheduler,kubectl,...}.
  unpack = { strip_components = 1 }
  source = "https://github.com/kubernetes/kubernetes/blob/master/CHANGELOG/CHANGELOG-1.24.md, Downloads for v1.24.6 (read at 025f2834a128798cef30018a5e6a6ae82b5ad885; same in aks-lts/kubernetes@3692b48e28c6d585077a590e6d84f2ff2cd43a9e)"
}

artifact "kubernetes_node" {
  version = "1.24.6"
  url     = "https://dl.k8s.io/v${version}/kubernetes-node-linux-amd64.tar.gz"
  # Upstream publishes only sha512 for the release tarballs.
  sha512 = "d7c02a8ea50f9646d0931cf49fd4784128b6b2187d882c836e496a0e343200a79066476006eb54999aa10f9a76c6f41c579f6991357303f362770ad893174698"
  # Yields node/bin/{kubelet,kube-proxy,kubeadm,kubectl}.
  unpack = { strip_components = 1 }
  source = "https://github.com/kubernetes/kubernetes/blob/master/CHANGELOG/CHANGELOG-1.24.md, Downloads for v1.24.6 (read at 025f2834a128798cef30018a5e6a6ae82b5ad885; same in aks-lts/kubernetes@3692b48e28c6d585077a590e6d84f2ff2cd43a9e)"
}

artifact "kubernetes_client" {
  version = "1.24.6"
  url     = "https://dl.k8s.io/v${version}/kubernetes-client-linux-amd64.tar.gz"
  # Upstream publishes only sha512 for the release tarballs.
  sha512 = "a5a6d95ac6d88e2f5a7572f15625928658a571ab655f9054fe18465b4c68327b9ae455364b4a0fff84cb26bf491b704023fdf57e5bded8cf0c882e0f765f7968"
  # Yields client/bin/kubectl.
  unpack = { strip_components = 1 }
  source = "https://github.com/kubernetes/kubernetes/blob/master/CHANGELOG/CHANGELOG-1.24.md, Downloads for v1.24.6 (read at 025f2834a128798cef30018a5e6a6ae82b5ad885; same in aks-lts/kubernetes@3692b48e28c6d585077a590e6d84f2ff2cd43a9e)"
}

artifact "etcd" {
  version = "3.4.21"
  url     = "https://github.com/etcd-io/etcd/releases/download/v${version}/etcd-v${version}-linux-amd64.tar.gz"
  # Found in one place only: the release's SHA256SUMS asset is not in any repository searched.
  sha256 = "c52ceca477bc78341d181fa71eb4c93a0c34f1756ecccbba50fbaad2e492fdff"
  # Yields etcd, etcdctl and the docs at the top of the stage directory.
  unpack = { strip_components = 1 }
  source = "kubesphere/kubekey@631e39357d39f3a2d247c751453b659676d18073 version/components.json (etcd.amd64.v3.4.21); upstream list: https://github.com/etcd-io/etcd/releases/download/v3.4.21/SHA256SUMS"
}

artifact "containerd" {
  version = "1.6.8"
  url     = "https://github.com/containerd/containerd/releases/download/v${version}/containerd-${version}-linux-amd64.tar.gz"
  sha256  = "3a1322c18ee5ff4b9bd5af6b7b30c923a3eab8af1df05554f530ef8e2b24ac5e"
  # Entries are bin/<binary>; stripping one leaves containerd, ctr and the shims on top.
  unpack = { strip_components = 1 }
  source = "kubernetes-sigs/kubespray@76573bf293e64fd601c4ec4c629d90e635034541 roles/download/defaults/main.yml (containerd_archive_checksums.amd64.1.6.8); same value in kubesphere/kubekey version/components.json; upstream: <url>.sha256sum"
}

artifact "runc" {
  version = "1.1.4"
  url     = "https://github.com/opencontainers/runc/releases/download/v${version}/runc.amd64"
  sha256  = "db772be63147a4e747b4fe286c7c16a2edc4a8458bd3092ea46aaee77750e8ce"
  source  = "kubernetes-sigs/kubespray@76573bf293e64fd601c4ec4c629d90e635034541 roles/download/defaults/main.yml (runc_checksums.amd64.v1.1.4); same value in kubesphere/kubekey version/components.json; upstream: https://github.com/opencontainers/runc/releases/download/v1.1.4/runc.sha256sum"
}

artifact "cni_plugins" {
  version = "1.1.1"
  url     = "https://github.com/containernetworking/plugins/releases/download/v${version}/cni-plugins-linux-amd64-v${version}.tgz"
  sha256  = "b275772da4026d2161bf8a8b41ed4786754c8a93ebfb6564006d5da7f23831e5"
  # Entries are ./<plugin> with no top directory.
  unpack = { strip_components = 0 }
  source = "kubernetes-sigs/kubespray@76573bf293e64fd601c4ec4c629d90e635034541 roles/download/defaults/main.yml (cni_binary_checksums.amd64.v1.1.1); same value in kubernetes-sigs/kind images/base/Dockerfile (CNI_PLUGINS_AMD64_SHA256SUM) and kubesphere/kubekey; upstream: <url>.sha256"
}

artifact "crictl" {
  version = "1.24.2"
  url     = "https://github.com/kubernetes-sigs/cri-tools/releases/download/v${version}/crictl-v${version}-linux-amd64.tar.gz"
  # sha512 because that value was found in two places. The one sha256 found (kubekey
  # components.json, unconfirmed): 53432dd365f7bf045c1e65ee2e44c74df6a0a8f0a798f640a945c8e07ad8682e
  sha512 = "961188117863ca9af5b084e84691e372efee93ad09daf6a0422e8d75a5803f394d8968064f7ca89f14e8973766201e731241f32538cf2c8d91f0233e786302df"
  # A single entry, crictl, with no top directory.
  unpack = { strip_components = 0 }
  source = "kubernetes cluster/gce/gci/configure.sh DEFAULT_CRICTL_AMD64_SHA512 for v1.24.2, as copied into kubernetes/cloud-provider-gcp@21d6fc7c97b4898e73ac52020b0b7c694cd1b614; same value in flatcar/mantle kola/tests/kubeadm/kubeadm.go (CRIctlSum, amd64)"
}

artifact "nginx_source" {
  version = "1.15.3"
  url     = "https://nginx.org/download/nginx-${version}.tar.gz"
  # nginx.org publishes a PGP signature (<url>.asc), not a checksum.
  sha256 = "9391fb91c3e2ebd040a4e3ac2b2f0893deb6232edc30a8e16fcc9c3fa9d6be85"
  # Yields the source tree (configure, src/, ...) at the top of the stage directory.
  unpack = { strip_components = 1 }
  source = "denji/homebrew-nginx@80cfb3593cf4219263647490d52e8000b0ba8144 Formula/nginx-full.rb; same value in ricardbejarano/nginx@cacaef9b2deff81f0e4bcd2e8bb7114c64b93a2c Dockerfile (NGINX_CHECKSUM for 1.15.3)"
}

artifact "calico_manifest" {
  version = "3.24.5"
  url     = "https://raw.githubusercontent.com/projectcalico/calico/v${version}/manifests/calico.yaml"
  sha256  = "1e8825b3bc56bd1b2a7565783630a97a09a4fd9f92767d013e4201cf8f88812c"
  source  = "computed (sha256sum) from the upstream file at the url above, tag v3.24.5"
}

# Images are pulled by the container runtime, not staged as files: nothing here downloads or
# verifies them. To pin by content, append @sha256:<digest> to ref.

image "coredns" {
  ref     = "registry.k8s.io/coredns/coredns:v1.8.6"
  version = "1.8.6"
}

image "pause" {
  ref     = "registry.k8s.io/pause:3.7"
  version = "3.7"
}
