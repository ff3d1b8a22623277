# The whole site: stage every artifact on the deploy host, make the cluster's PKI, then
# install each component on its group. Run with: kplay run site.hcl -i hosts.hcl

play "stage artifacts" {
  hosts = "deploy"
  roles = ["prepare-stage"]
}

play "cluster PKI" {
  hosts = "deploy"
  roles = ["pki"]
}

play "etcd" {
  hosts = "etcd"
  roles = ["etcd"]
}
