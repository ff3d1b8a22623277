package pki

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
)

// Kubeconfig renders a kubeconfig with one cluster, one user and one context named
// user@clusterName, with the CA, certificate and key embedded so the file is self-contained.
// Write it with EnsureFile and mode 0600: it holds a private key.
func Kubeconfig(server, clusterName, user string, caPEM, certPEM, keyPEM []byte) []byte {
	context := user + "@" + clusterName
	var b bytes.Buffer
	line := func(indent, key, value string) {
		b.WriteString(indent + key + ":")
		if value != "" {
			b.WriteString(" " + value)
		}
		b.WriteString("\n")
	}
	line("", "apiVersion", "v1")
	line("", "kind", "Config")
	b.WriteString("clusters:\n")
	line("- ", "name", quote(clusterName))
	line("  ", "cluster", "")
	line("    ", "server", quote(server))
	line("    ", "certificate-authority-data", b64(caPEM))
	b.WriteString("users:\n")
	line("- ", "name", quote(user))
	line("  ", "user", "")
	line("    ", "client-certificate-data", b64(certPEM))
	line("    ", "client-key-data", b64(keyPEM))
	b.WriteString("contexts:\n")
	line("- ", "name", quote(context))
	line("  ", "context", "")
	line("    ", "cluster", quote(clusterName))
	line("    ", "user", quote(user))
	line("", "current-context", quote(context))
	line("", "preferences", "{}")
	return b.Bytes()
}

// quote relies on a JSON string being a valid double-quoted YAML scalar, which keeps names
// with colons, spaces or other YAML syntax from changing the document's structure.
func quote(s string) string {
	q, _ := json.Marshal(s) // a string always marshals
	return string(q)
}

func b64(data []byte) string {
	return base64.StdEncoding.EncodeToString(data)
}
