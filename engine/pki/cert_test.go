package pki

import (
	"crypto/x509"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func leafReq(dir, name string) CertRequest {
	return CertRequest{
		Name:         name,
		CertPath:     filepath.Join(dir, name+".crt"),
		KeyPath:      filepath.Join(dir, name+".key"),
		CommonName:   "system:node:" + name,
		Organization: []string{"system:nodes", "kplay"},
		DNSNames:     []string{name, "localhost"},
		IPAddresses:  []net.IP{net.ParseIP("10.0.0.3"), net.ParseIP("127.0.0.1")},
		Server:       true,
		Client:       true,
	}
}

func ensureCert(t *testing.T, ca *CA, req CertRequest, check bool) Decision {
	t.Helper()
	d, err := ca.EnsureCert(req, check)
	if err != nil {
		t.Fatalf("EnsureCert %s: %v", req.Name, err)
	}
	return d
}

func loadCert(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	cert, err := parseCert(readFile(t, path))
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

// verifyChain checks the leaf at path against ca's certificate alone, for each usage.
func verifyChain(t *testing.T, ca *CA, path, dnsName string, usages ...x509.ExtKeyUsage) {
	t.Helper()
	roots := x509.NewCertPool()
	roots.AddCert(ca.Certificate())
	for _, u := range usages {
		opts := x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{u}}
		if u == x509.ExtKeyUsageServerAuth {
			opts.DNSName = dnsName
		}
		if _, err := loadCert(t, path).Verify(opts); err != nil {
			t.Errorf("verify %s for usage %d: %v", path, u, err)
		}
	}
}

func TestEnsureCertIssuesVerifiableCertificates(t *testing.T) {
	dir := t.TempDir()
	ca := mustEnsureCA(t, caOpts(dir))
	req := leafReq(dir, "node1")

	d := ensureCert(t, ca, req, false)
	if !d.Changed || d.Reason != "missing" {
		t.Errorf("first run: %+v, want changed, missing", d)
	}
	verifyChain(t, ca, req.CertPath, "node1", x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth)
	verifyChain(t, ca, req.CertPath, "10.0.0.3", x509.ExtKeyUsageServerAuth)
	assertMode(t, req.KeyPath, 0o600)
	assertMode(t, req.CertPath, 0o644)

	cert := loadCert(t, req.CertPath)
	if cert.Subject.CommonName != "system:node:node1" || len(cert.Subject.Organization) != 2 {
		t.Errorf("subject %v, want CN system:node:node1 and two organizations", cert.Subject)
	}
	key, err := parseKey(readFile(t, req.KeyPath))
	if err != nil || !keyMatches(key, cert.PublicKey) {
		t.Errorf("key file does not hold the certificate's key (err %v)", err)
	}
}

func TestEnsureCertServerOnlyIsNotAClientCert(t *testing.T) {
	dir := t.TempDir()
	ca := mustEnsureCA(t, caOpts(dir))
	req := leafReq(dir, "apiserver")
	req.Client = false
	ensureCert(t, ca, req, false)

	roots := x509.NewCertPool()
	roots.AddCert(ca.Certificate())
	opts := x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	if _, err := loadCert(t, req.CertPath).Verify(opts); err == nil {
		t.Error("a server-only certificate verified for client authentication")
	}
}

func TestEnsureCertRerunLeavesEverythingIdentical(t *testing.T) {
	dir := t.TempDir()
	opts := caOpts(dir)
	ca := mustEnsureCA(t, opts)
	req := leafReq(dir, "node1")
	ensureCert(t, ca, req, false)
	snap := snapshot(t, opts.CertPath, opts.KeyPath, req.CertPath, req.KeyPath)

	ca = mustEnsureCA(t, opts)
	req.DNSNames = []string{"LOCALHOST", "node1"} // same set, other order and case
	req.IPAddresses = []net.IP{net.ParseIP("127.0.0.1").To4(), net.ParseIP("10.0.0.3")}
	req.Organization = []string{"kplay", "system:nodes"}
	for _, check := range []bool{true, false} {
		if d := ensureCert(t, ca, req, check); d.Changed {
			t.Errorf("re-run (check %v): %+v, want unchanged", check, d)
		}
	}
	snap.assertSame(t)
}

func TestEnsureCertReissuesOnlyTheDeletedLeaf(t *testing.T) {
	dir := t.TempDir()
	opts := caOpts(dir)
	ca := mustEnsureCA(t, opts)
	keep, lost := leafReq(dir, "node1"), leafReq(dir, "node2")
	ensureCert(t, ca, keep, false)
	ensureCert(t, ca, lost, false)
	snap := snapshot(t, opts.CertPath, opts.KeyPath, keep.CertPath, keep.KeyPath)
	os.Remove(lost.CertPath)
	os.Remove(lost.KeyPath)

	ca = mustEnsureCA(t, opts)
	if d := ensureCert(t, ca, keep, false); d.Changed {
		t.Errorf("untouched leaf: %+v, want unchanged", d)
	}
	if d := ensureCert(t, ca, lost, false); !d.Changed || d.Reason != "missing" {
		t.Errorf("deleted leaf: %+v, want changed, missing", d)
	}
	snap.assertSame(t)
	verifyChain(t, ca, lost.CertPath, "node2", x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth)
}

func TestEnsureCertSANChangeKeepsKey(t *testing.T) {
	dir := t.TempDir()
	ca := mustEnsureCA(t, caOpts(dir))
	req := leafReq(dir, "etcd")
	ensureCert(t, ca, req, false)
	keyBefore, certBefore := readFile(t, req.KeyPath), readFile(t, req.CertPath)

	req.IPAddresses = []net.IP{net.ParseIP("10.0.0.4"), net.ParseIP("127.0.0.1")}
	d := ensureCert(t, ca, req, true)
	if !d.Changed || d.Reason != "SANs differ: +10.0.0.4 -10.0.0.3" {
		t.Errorf("check: %+v, want changed, SANs differ: +10.0.0.4 -10.0.0.3", d)
	}
	if string(readFile(t, req.CertPath)) != string(certBefore) {
		t.Fatal("check mode rewrote the certificate")
	}

	if d := ensureCert(t, ca, req, false); !d.Changed {
		t.Errorf("apply: %+v, want changed", d)
	}
	if string(readFile(t, req.KeyPath)) != string(keyBefore) {
		t.Error("a SAN change rotated the key")
	}
	verifyChain(t, ca, req.CertPath, "10.0.0.4", x509.ExtKeyUsageServerAuth)
	if d := ensureCert(t, ca, req, false); d.Changed {
		t.Errorf("after reissue: %+v, want unchanged", d)
	}
}

func TestEnsureCertReissueReasons(t *testing.T) {
	cases := []struct {
		name   string
		change func(*CertRequest)
		reason string
	}{
		{"common name", func(r *CertRequest) { r.CommonName = "other" }, "subject differs"},
		{"organization", func(r *CertRequest) { r.Organization = []string{"kplay"} }, "subject differs"},
		{"usages", func(r *CertRequest) { r.Client = false },
			"key usages differ: have client,server, want server"},
		{"dns name", func(r *CertRequest) { r.DNSNames = append(r.DNSNames, "node1.lab") },
			"SANs differ: +node1.lab"},
		{"expiring", func(r *CertRequest) { r.RenewBefore = 3 * time.Hour }, "expires within 3h"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			ca := mustEnsureCA(t, caOpts(dir))
			req := leafReq(dir, "node1")
			req.ValidFor, req.RenewBefore = 2*time.Hour, time.Hour
			ensureCert(t, ca, req, false)
			keyBefore := readFile(t, req.KeyPath)

			tc.change(&req)
			req.ValidFor = 365 * 24 * time.Hour
			d := ensureCert(t, ca, req, false)
			if !d.Changed || !strings.HasPrefix(d.Reason, tc.reason) {
				t.Errorf("%+v, want changed with reason starting %q", d, tc.reason)
			}
			if string(readFile(t, req.KeyPath)) != string(keyBefore) {
				t.Error("reissue rotated the key")
			}
			if d := ensureCert(t, ca, req, false); d.Changed {
				t.Errorf("second run: %+v, want unchanged", d)
			}
		})
	}
}

func TestEnsureCertReissuesLeafOfAnotherCA(t *testing.T) {
	dir := t.TempDir()
	ca := mustEnsureCA(t, caOpts(dir))
	foreign := mustEnsureCA(t, caOpts(t.TempDir()))
	req := leafReq(dir, "node1")
	ensureCert(t, foreign, req, false)
	keyBefore := readFile(t, req.KeyPath)

	d := ensureCert(t, ca, req, false)
	if !d.Changed || d.Reason != "not signed by the current CA" {
		t.Errorf("%+v, want changed, not signed by the current CA", d)
	}
	verifyChain(t, ca, req.CertPath, "node1", x509.ExtKeyUsageServerAuth)
	if string(readFile(t, req.KeyPath)) != string(keyBefore) {
		t.Error("reissue rotated a valid key")
	}
}

func TestEnsureCertKeyProblems(t *testing.T) {
	dir := t.TempDir()
	ca := mustEnsureCA(t, caOpts(dir))
	req := leafReq(dir, "node1")
	ensureCert(t, ca, req, false)
	otherKey, _ := newKey()
	otherPEM, _ := encodeKey(otherKey)

	// A key that is valid but not the certificate's is kept, and the certificate follows it.
	os.WriteFile(req.KeyPath, otherPEM, 0o600)
	if d := ensureCert(t, ca, req, false); d.Reason != "key does not match the certificate" {
		t.Errorf("mismatched key: %+v", d)
	}
	if !keyMatches(otherKey, loadCert(t, req.CertPath).PublicKey) {
		t.Error("certificate was not reissued for the existing key")
	}

	// An unreadable key is replaced.
	os.WriteFile(req.KeyPath, []byte("garbage"), 0o600)
	if d := ensureCert(t, ca, req, false); !strings.HasPrefix(d.Reason, "key unreadable") {
		t.Errorf("garbage key: %+v", d)
	}
	key, err := parseKey(readFile(t, req.KeyPath))
	if err != nil || !keyMatches(key, loadCert(t, req.CertPath).PublicKey) {
		t.Errorf("garbage key was not replaced by the certificate's key (err %v)", err)
	}

	// A world-readable key is only chmod-ed.
	certBefore := readFile(t, req.CertPath)
	os.Chmod(req.KeyPath, 0o644)
	if d := ensureCert(t, ca, req, false); d.Reason != "mode 0644, want 0600" {
		t.Errorf("loose key mode: %+v", d)
	}
	assertMode(t, req.KeyPath, 0o600)
	if string(readFile(t, req.CertPath)) != string(certBefore) {
		t.Error("fixing the key mode reissued the certificate")
	}
}

func TestEnsureCertCheckModeWritesNothing(t *testing.T) {
	dir := t.TempDir()
	ca := mustEnsureCA(t, caOpts(dir))
	req := leafReq(filepath.Join(dir, "leaves"), "node1")
	if d := ensureCert(t, ca, req, true); !d.Changed || d.Reason != "missing" {
		t.Errorf("check on missing leaf: %+v", d)
	}
	assertNotExist(t, filepath.Dir(req.CertPath))

	var none *CA // EnsureCA's result in check mode before the CA exists
	if d := ensureCert(t, none, req, true); !d.Changed {
		t.Errorf("check with a CA still to be created: %+v, want changed", d)
	}
	if _, err := none.EnsureCert(req, false); err == nil {
		t.Error("EnsureCert on a nil CA outside check mode succeeded")
	}
	assertNotExist(t, filepath.Dir(req.CertPath))
}

func TestEnsureCertRejectsBadRequests(t *testing.T) {
	dir := t.TempDir()
	ca := mustEnsureCA(t, caOpts(dir))
	noUsage := leafReq(dir, "a")
	noUsage.Server, noUsage.Client = false, false
	renewTooLate := leafReq(dir, "b")
	renewTooLate.ValidFor, renewTooLate.RenewBefore = time.Hour, 2*time.Hour
	noPath := leafReq(dir, "c")
	noPath.KeyPath = ""
	for _, req := range []CertRequest{noUsage, renewTooLate, noPath} {
		if _, err := ca.EnsureCert(req, false); err == nil {
			t.Errorf("request %s accepted", req.Name)
		}
		assertNotExist(t, req.CertPath)
	}
}

type fileSnapshot map[string][]byte

func snapshot(t *testing.T, paths ...string) fileSnapshot {
	t.Helper()
	s := fileSnapshot{}
	for _, p := range paths {
		s[p] = readFile(t, p)
	}
	return s
}

func (s fileSnapshot) assertSame(t *testing.T) {
	t.Helper()
	for p, want := range s {
		if got := readFile(t, p); string(got) != string(want) {
			t.Errorf("%s changed", p)
		}
	}
}
