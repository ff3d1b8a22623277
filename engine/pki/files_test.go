package pki

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestEnsureFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state", "admin.conf")
	steps := []struct {
		content string
		mode    os.FileMode
		check   bool
		reason  string // "" means unchanged
		want    string // file content afterwards, "" for absent
	}{
		{"a", 0o600, true, "missing", ""},
		{"a", 0o600, false, "missing", "a"},
		{"a", 0o600, false, "", "a"},
		{"b", 0o600, true, "content differs", "a"},
		{"b", 0o600, false, "content differs", "b"},
		{"b", 0o640, true, "mode 0600, want 0640", "b"},
		{"b", 0o640, false, "mode 0600, want 0640", "b"},
		{"b", 0o640, false, "", "b"},
	}
	for i, s := range steps {
		d, err := EnsureFile(path, []byte(s.content), s.mode, s.check)
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if d.Changed != (s.reason != "") || d.Reason != s.reason {
			t.Errorf("step %d: %+v, want reason %q", i, d, s.reason)
		}
		got, _ := os.ReadFile(path)
		if string(got) != s.want {
			t.Errorf("step %d: file holds %q, want %q", i, got, s.want)
		}
	}
	assertMode(t, path, 0o640)
	assertMode(t, filepath.Dir(path), 0o700)
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want 1: temporary files left behind", len(entries))
	}
}

func TestKubeconfigEmbedsCredentials(t *testing.T) {
	ca, cert, key := []byte("CA PEM"), []byte("CERT PEM"), []byte("KEY PEM")
	got := string(Kubeconfig("https://10.0.0.3:6443", "lab", "admin", ca, cert, key))
	want := `apiVersion: v1
kind: Config
clusters:
- name: "lab"
  cluster:
    server: "https://10.0.0.3:6443"
    certificate-authority-data: ` + base64.StdEncoding.EncodeToString(ca) + `
users:
- name: "admin"
  user:
    client-certificate-data: ` + base64.StdEncoding.EncodeToString(cert) + `
    client-key-data: ` + base64.StdEncoding.EncodeToString(key) + `
contexts:
- name: "admin@lab"
  context:
    cluster: "lab"
    user: "admin"
current-context: "admin@lab"
preferences: {}
`
	if got != want {
		t.Errorf("kubeconfig:\n%s\nwant:\n%s", got, want)
	}
}

func TestKubeconfigQuotesNames(t *testing.T) {
	got := string(Kubeconfig("https://h:6443", "a: b\n- c", "system:kube-scheduler", nil, nil, nil))
	if !strings.Contains(got, `- name: "a: b\n- c"`) ||
		!strings.Contains(got, `user: "system:kube-scheduler"`) {
		t.Errorf("names not quoted as single scalars:\n%s", got)
	}
}

func TestEnsureKeyPair(t *testing.T) {
	dir := t.TempDir()
	key, pub := filepath.Join(dir, "sa.key"), filepath.Join(dir, "sa.pub")
	if d, err := EnsureKeyPair(key, pub, true); err != nil || !d.Changed {
		t.Fatalf("check: %+v, %v", d, err)
	}
	assertNotExist(t, key)

	if d, err := EnsureKeyPair(key, pub, false); err != nil || !d.Changed {
		t.Fatalf("create: %+v, %v", d, err)
	}
	assertMode(t, key, 0o600)
	snap := snapshot(t, key, pub)
	if d, err := EnsureKeyPair(key, pub, false); err != nil || d.Changed {
		t.Errorf("re-run: %+v, %v; want unchanged", d, err)
	}

	os.Remove(pub)
	if d, err := EnsureKeyPair(key, pub, false); err != nil || d.Reason != "public key missing" {
		t.Errorf("lost public key: %+v, %v", d, err)
	}
	snap.assertSame(t)

	os.WriteFile(key, []byte("junk"), 0o600)
	if _, err := EnsureKeyPair(key, pub, false); err == nil {
		t.Error("unreadable key accepted")
	}
	if string(readFile(t, key)) != "junk" {
		t.Error("unreadable key was replaced")
	}
}
