play "p" {
  hosts = "n1" "etcd" # ERROR: Missing newline after argument
}
