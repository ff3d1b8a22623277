package pki

import (
	"crypto/rand"
	"crypto/x509"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func caOpts(dir string) CAOptions {
	return CAOptions{
		CertPath: filepath.Join(dir, "pki", "ca.crt"),
		KeyPath:  filepath.Join(dir, "pki", "ca.key"),
	}
}

func mustEnsureCA(t *testing.T, opts CAOptions) *CA {
	t.Helper()
	ca, _, err := EnsureCA(opts, false)
	if err != nil {
		t.Fatalf("EnsureCA: %v", err)
	}
	return ca
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func assertMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := info.Mode().Perm(); got != want {
		t.Errorf("%s: mode %04o, want %04o", path, got, want)
	}
}

func assertNotExist(t *testing.T, path string) {
	t.Helper()
	if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s exists (err %v), want it absent", path, err)
	}
}

func TestEnsureCACreatesThenKeeps(t *testing.T) {
	opts := caOpts(t.TempDir())
	opts.CommonName = "test-ca"

	ca, d, err := EnsureCA(opts, false)
	if err != nil {
		t.Fatal(err)
	}
	if !d.Changed || d.Reason != "CA missing" {
		t.Errorf("first run: %+v, want changed with reason CA missing", d)
	}
	cert := ca.Certificate()
	if !cert.IsCA || cert.Subject.CommonName != "test-ca" || cert.CheckSignatureFrom(cert) != nil {
		t.Errorf("CA certificate: IsCA %v, CN %q, want a self-signed CA named test-ca",
			cert.IsCA, cert.Subject.CommonName)
	}
	assertMode(t, opts.KeyPath, 0o600)
	assertMode(t, opts.CertPath, 0o644)
	assertMode(t, filepath.Dir(opts.KeyPath), 0o700)
	certBefore, keyBefore := readFile(t, opts.CertPath), readFile(t, opts.KeyPath)

	for _, check := range []bool{false, true} {
		again, d, err := EnsureCA(opts, check)
		if err != nil {
			t.Fatal(err)
		}
		if d.Changed {
			t.Errorf("re-run (check %v): %+v, want unchanged", check, d)
		}
		if string(again.CertPEM()) != string(certBefore) {
			t.Error("reloaded CA PEM differs from the file")
		}
	}
	if string(readFile(t, opts.CertPath)) != string(certBefore) ||
		string(readFile(t, opts.KeyPath)) != string(keyBefore) {
		t.Error("re-run rewrote the CA files")
	}
}

func TestEnsureCACheckModeWritesNothing(t *testing.T) {
	dir := t.TempDir()
	opts := caOpts(dir)
	ca, d, err := EnsureCA(opts, true)
	if err != nil {
		t.Fatal(err)
	}
	if ca != nil || !d.Changed || d.Reason != "CA missing" {
		t.Errorf("check on missing CA: ca %v, %+v; want nil CA, changed", ca, d)
	}
	assertNotExist(t, filepath.Dir(opts.CertPath))
}

func TestEnsureCARefusesDamagedCA(t *testing.T) {
	src := caOpts(t.TempDir())
	good := mustEnsureCA(t, src)
	other := mustEnsureCA(t, caOpts(t.TempDir()))
	otherKey, _ := encodeKey(other.key)
	leaf := issueLeafPEM(t, good, CertRequest{CommonName: "leaf", Server: true})
	expired := selfSignedAt(t, good, time.Now().Add(-48*time.Hour), time.Now().Add(-24*time.Hour))
	goodCert, goodKey := readFile(t, src.CertPath), readFile(t, src.KeyPath)

	cases := []struct {
		name      string
		cert, key []byte // nil: file absent
		problem   string
	}{
		{"cert without key", goodCert, nil, "the certificate exists but the key is missing"},
		{"key without cert", nil, goodKey, "the key exists but the certificate is missing"},
		{"garbage cert", []byte("not pem"), goodKey, "the certificate cannot be read: no PEM block found"},
		{"garbage key", goodCert, []byte("junk"), "the key cannot be read: no PEM block found"},
		{"key of another CA", goodCert, otherKey, "the key does not belong to the certificate"},
		{"leaf instead of CA", leaf, goodKey, "the certificate is not a CA certificate"},
		{"expired", expired, goodKey, "the certificate expired on "},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			opts := caOpts(t.TempDir())
			writeIf(t, opts.CertPath, tc.cert)
			writeIf(t, opts.KeyPath, tc.key)

			ca, _, err := EnsureCA(opts, false)
			var caErr *CAError
			if !errors.As(err, &caErr) {
				t.Fatalf("got ca %v, err %v; want a *CAError", ca, err)
			}
			if len(caErr.Problem) < len(tc.problem) || caErr.Problem[:len(tc.problem)] != tc.problem {
				t.Errorf("problem %q, want prefix %q", caErr.Problem, tc.problem)
			}
			assertFileIs(t, opts.CertPath, tc.cert)
			assertFileIs(t, opts.KeyPath, tc.key)
			entries, _ := os.ReadDir(filepath.Dir(opts.CertPath))
			if want := countNonNil(tc.cert, tc.key); len(entries) != want {
				t.Errorf("directory holds %d files, want %d: something was written", len(entries), want)
			}
		})
	}
}

func writeIf(t *testing.T, path string, data []byte) {
	t.Helper()
	if data == nil {
		return
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

func assertFileIs(t *testing.T, path string, want []byte) {
	t.Helper()
	if want == nil {
		assertNotExist(t, path)
		return
	}
	if got := readFile(t, path); string(got) != string(want) {
		t.Errorf("%s was modified", path)
	}
}

func countNonNil(bs ...[]byte) int {
	n := 0
	for _, b := range bs {
		if b != nil {
			n++
		}
	}
	return n
}

// selfSignedAt makes a CA certificate for ca's key with the given validity, for tests that
// need one that has already expired.
func selfSignedAt(t *testing.T, ca *CA, notBefore, notAfter time.Time) []byte {
	t.Helper()
	tmpl := *ca.cert
	tmpl.NotBefore, tmpl.NotAfter = notBefore, notAfter
	der, err := x509.CreateCertificate(rand.Reader, &tmpl, &tmpl, ca.key.Public(), ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return encodeCert(der)
}

func issueLeafPEM(t *testing.T, ca *CA, req CertRequest) []byte {
	t.Helper()
	req.ValidFor = time.Hour
	key, err := newKey()
	if err != nil {
		t.Fatal(err)
	}
	certPEM, err := ca.sign(req, key.Public(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return certPEM
}
