package fetch

import (
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

func fetchFile(req Request, check bool) (Decision, error) {
	return Download(context.Background(), req, check)
}

func sum(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

func sum512(s string) string {
	h := sha512.Sum512([]byte(s))
	return hex.EncodeToString(h[:])
}

// fileServer serves fixed bodies by path and counts every request it receives.
type fileServer struct {
	*httptest.Server
	requests atomic.Int64
}

func newFileServer(t *testing.T, files map[string]string, extra http.HandlerFunc) *fileServer {
	t.Helper()
	s := &fileServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		if body, ok := files[r.URL.Path]; ok {
			w.Write([]byte(body))
			return
		}
		if extra != nil {
			extra(w, r)
			return
		}
		http.NotFound(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

// assertOnlyEntries fails if dir holds anything but the named entries, such as a temporary
// file left behind by a failed download.
func assertOnlyEntries(t *testing.T, dir string, names ...string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	if strings.Join(got, ",") != strings.Join(names, ",") {
		t.Errorf("%s holds %v, want %v", dir, got, names)
	}
}

func assertContent(t *testing.T, path, want string) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Errorf("%s holds %q, want %q", path, got, want)
	}
}

func TestDownloadThenNoNetwork(t *testing.T) {
	const body = "kubectl binary"
	srv := newFileServer(t, map[string]string{"/v1.24.6/kubectl": body}, nil)
	dest := filepath.Join(t.TempDir(), "stage", "kubectl")
	req := Request{URL: srv.URL + "/v1.24.6/kubectl", SHA256: strings.ToUpper(sum(body)), Dest: dest}

	d, err := fetchFile(req, true)
	if err != nil || !d.Changed || d.Reason != "missing" {
		t.Fatalf("check: %+v, %v; want changed, missing", d, err)
	}
	if srv.requests.Load() != 0 {
		t.Fatal("check mode used the network")
	}
	if _, err := os.Stat(filepath.Dir(dest)); !errors.Is(err, os.ErrNotExist) {
		t.Error("check mode created the destination directory")
	}

	if d, err := fetchFile(req, false); err != nil || !d.Changed {
		t.Fatalf("download: %+v, %v", d, err)
	}
	assertContent(t, dest, body)
	info, _ := os.Stat(dest)
	if info.Mode().Perm() != 0o644 {
		t.Errorf("mode %04o, want 0644", info.Mode().Perm())
	}
	if n := srv.requests.Load(); n != 1 {
		t.Errorf("%d requests for one download, want 1", n)
	}

	for _, check := range []bool{false, true} {
		if d, err := fetchFile(req, check); err != nil || d.Changed {
			t.Errorf("re-run (check %v): %+v, %v; want unchanged", check, d, err)
		}
	}
	if n := srv.requests.Load(); n != 1 {
		t.Errorf("re-runs made %d more requests, want none", n-1)
	}
	assertOnlyEntries(t, filepath.Dir(dest), "kubectl")
}

func TestDownloadFixesModeWithoutNetwork(t *testing.T) {
	srv := newFileServer(t, map[string]string{"/runc": "runc"}, nil)
	dest := filepath.Join(t.TempDir(), "runc")
	os.WriteFile(dest, []byte("runc"), 0o600)
	req := Request{URL: srv.URL + "/runc", SHA256: sum("runc"), Dest: dest, Mode: 0o755}

	for _, check := range []bool{true, false} {
		d, err := fetchFile(req, check)
		if err != nil || d.Reason != "mode 0600, want 0755" {
			t.Errorf("check %v: %+v, %v; want a mode change", check, d, err)
		}
	}
	if d, err := fetchFile(req, false); err != nil || d.Changed {
		t.Errorf("re-run: %+v, %v; want unchanged", d, err)
	}
	if n := srv.requests.Load(); n != 0 {
		t.Errorf("%d requests, want none", n)
	}
}

func TestDownloadReplacesStaleFile(t *testing.T) {
	srv := newFileServer(t, map[string]string{"/etcd.tar.gz": "new"}, nil)
	dest := filepath.Join(t.TempDir(), "etcd.tar.gz")
	os.WriteFile(dest, []byte("old"), 0o644)

	req := Request{URL: srv.URL + "/etcd.tar.gz", SHA256: sum("new"), Dest: dest}
	d, err := fetchFile(req, false)
	if err != nil || d.Reason != "checksum differs: have sha256 "+sum("old") {
		t.Fatalf("%+v, %v", d, err)
	}
	assertContent(t, dest, "new")
}

func TestDownloadFailuresKeepPreviousFile(t *testing.T) {
	truncated := func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/truncated" {
			w.Header().Set("Content-Length", "1000")
			w.Write([]byte("only a part"))
			return
		}
		http.NotFound(w, r)
	}
	srv := newFileServer(t, map[string]string{"/tampered": "evil"}, truncated)
	cases := []struct {
		name    string
		path    string
		wantErr []string
	}{
		{"wrong checksum", "/tampered", []string{
			srv.URL + "/tampered", "expected sha256 " + sum("good"), "got " + sum("evil"),
		}},
		{"truncated", "/truncated", []string{srv.URL + "/truncated"}},
		{"not found", "/missing", []string{srv.URL + "/missing", "404"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			dest := filepath.Join(dir, "artifact")
			os.WriteFile(dest, []byte("previous"), 0o644)

			req := Request{URL: srv.URL + tc.path, SHA256: sum("good"), Dest: dest}
			_, err := fetchFile(req, false)
			if err == nil {
				t.Fatal("download succeeded")
			}
			t.Log(err)
			for _, want := range tc.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not mention %q", err, want)
				}
			}
			assertContent(t, dest, "previous")
			assertOnlyEntries(t, dir, "artifact")
		})
	}
}

func TestDownloadChecksumErrorCarriesData(t *testing.T) {
	srv := newFileServer(t, map[string]string{"/f": "evil"}, nil)
	dest := filepath.Join(t.TempDir(), "f")
	_, err := fetchFile(Request{URL: srv.URL + "/f", SHA256: sum("good"), Dest: dest}, false)
	var sumErr *ChecksumError
	if !errors.As(err, &sumErr) {
		t.Fatalf("error %v is not a *ChecksumError", err)
	}
	if sumErr.URL != srv.URL+"/f" || sumErr.Algorithm != "sha256" ||
		sumErr.Expected != sum("good") || sumErr.Actual != sum("evil") {
		t.Errorf("ChecksumError %+v", sumErr)
	}
}

func TestDownloadCancelled(t *testing.T) {
	started := make(chan struct{})
	srv := newFileServer(t, nil, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "100000")
		w.Write([]byte("first part"))
		w.(http.Flusher).Flush()
		close(started)
		<-r.Context().Done()
	})
	dir := t.TempDir()
	dest := filepath.Join(dir, "big")
	os.WriteFile(dest, []byte("previous"), 0o644)

	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-started
		cancel()
	}()
	_, err := Download(ctx, Request{URL: srv.URL + "/big", SHA256: sum("x"), Dest: dest}, false)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("error %v, want context.Canceled", err)
	}
	assertContent(t, dest, "previous")
	assertOnlyEntries(t, dir, "big")
}

func TestDownloadRejectsBeforeNetwork(t *testing.T) {
	srv := newFileServer(t, map[string]string{"/f": "x"}, nil)
	good := sum("x")
	cases := []struct {
		name string
		req  Request
	}{
		{"no checksum", Request{URL: srv.URL + "/f", Dest: "f"}},
		{"short checksum", Request{URL: srv.URL + "/f", SHA256: good[:63], Dest: "f"}},
		{"not hex", Request{URL: srv.URL + "/f", SHA256: strings.Repeat("zz", 32), Dest: "f"}},
		{"md5-sized checksum", Request{URL: srv.URL + "/f", SHA256: good[:32], Dest: "f"}},
		{"sha256 as sha512", Request{URL: srv.URL + "/f", SHA512: good, Dest: "f"}},
		{"sha512 as sha256", Request{URL: srv.URL + "/f", SHA256: sum512("x"), Dest: "f"}},
		{"no destination", Request{URL: srv.URL + "/f", SHA256: good}},
		{"ftp", Request{URL: "ftp://127.0.0.1/f", SHA256: good, Dest: "f"}},
		{"forced getter", Request{URL: "git::" + srv.URL + "/f", SHA256: good, Dest: "f"}},
		{"forced http getter", Request{URL: "http::" + srv.URL + "/f", SHA256: good, Dest: "f"}},
		{"subdirectory", Request{URL: srv.URL + "/a//f", SHA256: good, Dest: "f"}},
		{"magic query", Request{URL: srv.URL + "/f?archive=tar.gz", SHA256: good, Dest: "f"}},
		{"own checksum query", Request{URL: srv.URL + "/f?checksum=sha256:" + good, SHA256: good, Dest: "f"}},
		{"relative path", Request{URL: "some/file", SHA256: good, Dest: "f"}},
		{"remote file URL", Request{URL: "file://otherhost/etc/passwd", SHA256: good, Dest: "f"}},
	}
	dir := t.TempDir()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.req.Dest != "" {
				tc.req.Dest = filepath.Join(dir, tc.req.Dest)
			}
			for _, check := range []bool{true, false} {
				if _, err := fetchFile(tc.req, check); err == nil {
					t.Errorf("accepted (check %v)", check)
				}
			}
		})
	}
	if n := srv.requests.Load(); n != 0 {
		t.Errorf("%d requests reached the server", n)
	}
	assertOnlyEntries(t, dir)
}

func TestDownloadThroughMirror(t *testing.T) {
	srv := newFileServer(t, map[string]string{"/mirror/k8s/v1.24.6/bin/linux/amd64/kubelet": "kubelet"}, nil)
	mirrors := map[string]string{
		"https://dl.k8s.io/":                 srv.URL + "/elsewhere/",
		"https://dl.k8s.io/release/v1.24.6/": srv.URL + "/mirror/k8s/v1.24.6/",
	}
	upstream := "https://dl.k8s.io/release/v1.24.6/bin/linux/amd64/kubelet"
	u := RewriteURL(upstream, mirrors)
	if want := srv.URL + "/mirror/k8s/v1.24.6/bin/linux/amd64/kubelet"; u != want {
		t.Fatalf("RewriteURL = %s, want %s", u, want)
	}
	dest := filepath.Join(t.TempDir(), "kubelet")
	if _, err := fetchFile(Request{URL: u, SHA256: sum("kubelet"), Dest: dest}, false); err != nil {
		t.Fatal(err)
	}
	assertContent(t, dest, "kubelet")
}

func TestRewriteURL(t *testing.T) {
	mirrors := map[string]string{
		"https://dl.k8s.io/":                 "http://mirror.lab/k8s/",
		"https://dl.k8s.io/release/v1.24.6/": "http://mirror.lab/pinned/",
		"":                                   "http://ignored/",
	}
	cases := map[string]string{
		"https://dl.k8s.io/release/v1.24.6/bin/kubectl": "http://mirror.lab/pinned/bin/kubectl",
		"https://dl.k8s.io/release/v1.25.0/bin/kubectl": "http://mirror.lab/k8s/release/v1.25.0/bin/kubectl",
		"https://github.com/etcd-io/etcd/etcd.tar.gz":   "https://github.com/etcd-io/etcd/etcd.tar.gz",
	}
	for in, want := range cases {
		if got := RewriteURL(in, mirrors); got != want {
			t.Errorf("RewriteURL(%s) = %s, want %s", in, got, want)
		}
	}
	if got := RewriteURL("https://x/y", nil); got != "https://x/y" {
		t.Errorf("nil mirrors changed the URL to %s", got)
	}
}

func TestDownloadFileURLCopies(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "local-artifact")
	os.WriteFile(src, []byte("local"), 0o600)
	dest := filepath.Join(dir, "stage", "artifact")
	u := (&url.URL{Scheme: "file", Path: src}).String()

	req := Request{URL: u, SHA256: sum("local"), Dest: dest, Mode: 0o755}
	if _, err := fetchFile(req, false); err != nil {
		t.Fatal(err)
	}
	info, err := os.Lstat(dest)
	if err != nil || !info.Mode().IsRegular() || info.Mode().Perm() != 0o755 {
		t.Fatalf("dest %v, %v; want a regular file with mode 0755, not a symlink", info.Mode(), err)
	}
	assertContent(t, dest, "local")
}

func TestCheckRedirectRefusesDowngrade(t *testing.T) {
	from, _ := http.NewRequest("GET", "https://dl.k8s.io/a", nil)
	to, _ := http.NewRequest("GET", "http://dl.k8s.io/a", nil)
	if checkRedirect(to, []*http.Request{from}) == nil {
		t.Error("redirect from https to http allowed")
	}
	same, _ := http.NewRequest("GET", "https://cdn.dl.k8s.io/a", nil)
	if err := checkRedirect(same, []*http.Request{from}); err != nil {
		t.Errorf("https to https redirect refused: %v", err)
	}
}

// The kubernetes 1.24.6 tarballs and crictl are published with a sha512 only.
func TestDownloadSHA512(t *testing.T) {
	const body = "kubernetes-server-linux-amd64.tar.gz"
	srv := newFileServer(t, map[string]string{"/k8s.tar.gz": body}, nil)
	dir := t.TempDir()
	dest := filepath.Join(dir, "k8s.tar.gz")
	os.WriteFile(dest, []byte("old"), 0o644)
	req := Request{URL: srv.URL + "/k8s.tar.gz", SHA512: strings.ToUpper(sum512(body)), Dest: dest}

	d, err := fetchFile(req, false)
	if err != nil || d.Reason != "checksum differs: have sha512 "+sum512("old") {
		t.Fatalf("download: %+v, %v; want a sha512 mismatch with the old file", d, err)
	}
	assertContent(t, dest, body)
	if n := srv.requests.Load(); n != 1 {
		t.Errorf("%d requests for one download, want 1", n)
	}

	for _, check := range []bool{false, true} {
		if d, err := fetchFile(req, check); err != nil || d.Changed {
			t.Errorf("re-run (check %v): %+v, %v; want unchanged", check, d, err)
		}
	}
	if n := srv.requests.Load(); n != 1 {
		t.Errorf("re-runs made %d more requests, want none", n-1)
	}
	assertOnlyEntries(t, dir, "k8s.tar.gz")
}

func TestDownloadSHA512MismatchKeepsPreviousFile(t *testing.T) {
	srv := newFileServer(t, map[string]string{"/crictl.tar.gz": "evil"}, nil)
	dir := t.TempDir()
	dest := filepath.Join(dir, "crictl.tar.gz")
	os.WriteFile(dest, []byte("previous"), 0o644)

	req := Request{URL: srv.URL + "/crictl.tar.gz", SHA512: sum512("good"), Dest: dest}
	_, err := fetchFile(req, false)
	var sumErr *ChecksumError
	if !errors.As(err, &sumErr) {
		t.Fatalf("error %v is not a *ChecksumError", err)
	}
	if sumErr.Algorithm != "sha512" || sumErr.Expected != sum512("good") ||
		sumErr.Actual != sum512("evil") {
		t.Errorf("ChecksumError %+v", sumErr)
	}
	want := "expected sha512 " + sum512("good") + ", got " + sum512("evil")
	if !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not mention %q", err, want)
	}
	assertContent(t, dest, "previous")
	assertOnlyEntries(t, dir, "crictl.tar.gz")
}

func TestDownloadWantsExactlyOneChecksum(t *testing.T) {
	srv := newFileServer(t, map[string]string{"/f": "x"}, nil)
	cases := []struct {
		name    string
		req     Request
		wantErr string
	}{
		{"both", Request{SHA256: sum("x"), SHA512: sum512("x")}, "both sha256 and sha512 are set"},
		{"neither", Request{}, "set sha256 or sha512"},
	}
	dir := t.TempDir()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.req.URL = srv.URL + "/f"
			tc.req.Dest = filepath.Join(dir, "f")
			for _, check := range []bool{true, false} {
				_, err := fetchFile(tc.req, check)
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Errorf("check %v: error %v, want one mentioning %q", check, err, tc.wantErr)
				}
			}
		})
	}
	if n := srv.requests.Load(); n != 0 {
		t.Errorf("%d requests reached the server", n)
	}
	assertOnlyEntries(t, dir)
}
