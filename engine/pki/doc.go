// Package pki owns the cluster's certificate authority and the files derived from it: leaf
// certificates for etcd and Kubernetes components, service-account key pairs and kubeconfigs.
// Everything runs on the deploy host in pure Go; copying the results to nodes is left to the
// modules and roles.
//
// Every Ensure function is idempotent and has a check mode: it first decides whether anything
// must change and why (a Decision), and with check set it stops there and writes nothing. An
// up-to-date file is never rewritten, so its bytes and modification time stay the same from
// one run to the next.
//
// New keys are RSA 2048. Elliptic-curve keys would be smaller and faster, and etcd 3.4 and
// Kubernetes 1.24 accept both, but RSA is what kubeadm issues and the one key type every
// kubeconfig consumer (client libraries in other languages, older kubectl plugins) is known to
// read. Existing keys of any type kplay can parse (RSA, ECDSA, Ed25519) are reused as they are.
//
// Files are written atomically (a temporary file in the same directory, then a rename), keys
// with mode 0600, certificates 0644, and missing directories are created 0700. The CA is
// special: once it exists kplay never replaces it, because a new CA silently invalidates every
// certificate and kubeconfig already handed out; a damaged CA is an error for the operator.
//
// The functions are safe for concurrent use as long as no two calls touch the same files.
package pki

// Decision says whether an Ensure call changed (or, in check mode, would change) anything,
// and why, in words meant for the user ("missing", "SANs differ: +10.0.0.4").
type Decision struct {
	Changed bool
	Reason  string
}
