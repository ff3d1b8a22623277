// Package e2e runs kplay against the lab: five systemd-nspawn hosts with real sshd, three of
// them (n1..n3) the cluster of site.hcl, built from the real binaries the lab mirror serves,
// the other two free for engine tests. It needs root and the lab's Debian packages
// (lab/deps.sh); it brings up the default lab (LAB=/var/tmp/kplay-lab) and takes it down at
// the end, so it resets a lab a developer left running. KPLAY_SKIP_LAB=1 skips it.
package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

const labDir = "/var/tmp/kplay-lab"

var (
	repo  string
	kplay string
)

func TestMain(m *testing.M) {
	_, file, _, _ := runtime.Caller(0)
	repo = filepath.Clean(filepath.Join(filepath.Dir(file), "../.."))
	if reason := skipReason(); reason != "" {
		fmt.Println("lab tests skipped:", reason)
		os.Exit(m.Run())
	}
	os.Exit(runWithLab(m))
}

func skipReason() string {
	switch {
	case os.Getenv("KPLAY_SKIP_LAB") != "":
		return "KPLAY_SKIP_LAB is set"
	case os.Geteuid() != 0:
		return "not root"
	}
	if _, err := exec.LookPath("systemd-nspawn"); err != nil {
		return "systemd-nspawn missing (run lab/deps.sh)"
	}
	return ""
}

func runWithLab(m *testing.M) int {
	tmp, err := os.MkdirTemp("", "kplay-e2e-")
	if err != nil {
		fmt.Println(err)
		return 1
	}
	defer os.RemoveAll(tmp)
	workDir = tmp
	kplay = filepath.Join(tmp, "kplay")
	steps := [][]string{
		{"go", "build", "-o", kplay, "./cmd/kplay"},
		{"lab/build-image.sh"},
		{"lab/lab.sh", "up", "5"}, // n1..n3 for the site, all five for engine tests
		{"lab/mirror.sh", "build"},
		{"lab/mirror.sh", "serve"},
	}
	defer func() {
		labCmd("lab/mirror.sh", "stop")
		labCmd("lab/lab.sh", "down")
	}()
	for _, s := range steps {
		if out, err := labCmd(s...); err != nil {
			fmt.Printf("lab setup %v failed: %v\n%s\n", s, err, out)
			return 1
		}
	}
	return m.Run()
}

func labCmd(args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Dir = repo
	cmd.Env = append(os.Environ(), "LAB="+labDir)
	// A launcher left in the background must not hold our pipes open.
	cmd.WaitDelay = 5 * time.Second
	return cmd.CombinedOutput()
}

func requireLab(t *testing.T) {
	t.Helper()
	if kplay == "" {
		t.Skip("lab not available: " + skipReason())
	}
}

// site is one lab inventory with its own state directory, so a test can change it freely.
type site struct {
	t     *testing.T
	dir   string
	inv   string
	extra string // appended to the inventory's vars
}

// workDir holds what the lab tests share, among them the site's state directory.
var workDir string

// shared is the one site every lab test deploys to: a new state directory would mean a new
// CA, and the lab's cluster would be rebuilt for nothing.
var shared *site

// sharedSite returns the lab's site for test t, deployed: the first caller deploys it.
func sharedSite(t *testing.T) *site {
	t.Helper()
	if shared == nil {
		dir := filepath.Join(workDir, "site")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		shared = &site{dir: dir, inv: filepath.Join(dir, "hosts.hcl")}
		shared.t = t
		shared.write()
	}
	shared.t = t
	return shared
}

// deployed makes sure the site has been deployed by an earlier test, or deploys it.
func (s *site) deployed(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(s.dir, "state/pki/ca.pem")); err == nil {
		return
	}
	if r := s.run(); r.code != 0 {
		t.Fatalf("deploying the site:\n%s", r.dump())
	}
}

// write renders the lab inventory with an absolute state directory and s.extra vars.
func (s *site) write() {
	src, err := os.ReadFile(filepath.Join(repo, "inventories/lab/hosts.hcl"))
	if err != nil {
		s.t.Fatal(err)
	}
	text := strings.Replace(string(src), `state_dir = "state"`, fmt.Sprintf("state_dir = %q", filepath.Join(s.dir, "state")), 1)
	text = strings.Replace(text, "vars = {", "vars = {\n"+s.extra, 1)
	if err := os.WriteFile(s.inv, []byte(text), 0o644); err != nil {
		s.t.Fatal(err)
	}
}

type event struct {
	Type  string          `json:"type"`
	Event json.RawMessage `json:"event"`
}

type hostResult struct {
	Task, Host, Item, Status, Msg string
	Delegate                      string `json:"delegate_to"`
	Attempts                      int
}

type recap struct {
	Counts map[string]struct {
		OK, Changed, Unreachable, Failed, Skipped int
	} `json:"counts"`
	Uploaded int64 `json:"bytes_uploaded"`
	Duration int64 `json:"duration_ns"`
}

type runResult struct {
	code    int
	stdout  string
	stderr  string
	results []hostResult
	recap   recap
}

// run runs kplay against the site with JSON output and parses the events.
func (s *site) run(args ...string) runResult {
	s.t.Helper()
	return s.runArgs(append([]string{"run", filepath.Join(repo, "site.hcl"), "-i", s.inv, "--output", "json"}, args...)...)
}

// runArgs runs kplay with args, which must ask for JSON output, and parses the events.
func (s *site) runArgs(full ...string) runResult {
	s.t.Helper()
	r := s.exec(full...)
	sc := bufio.NewScanner(strings.NewReader(r.stdout))
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var e event
		if json.Unmarshal(sc.Bytes(), &e) != nil {
			continue
		}
		switch e.Type {
		case "result":
			var hr hostResult
			json.Unmarshal(e.Event, &hr)
			r.results = append(r.results, hr)
		case "recap":
			json.Unmarshal(e.Event, &r.recap)
		}
	}
	return r
}

func (s *site) exec(args ...string) runResult {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, kplay, args...)
	cmd.Dir = repo
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		s.t.Fatalf("kplay %v: %v", args, err)
	}
	return runResult{code: code, stdout: out.String(), stderr: errb.String()}
}

func (r runResult) dump() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, tail(r.stdout, 6000), tail(r.stderr, 3000))
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

// on runs a shell command on a lab host over ssh.
func on(t *testing.T, host, command string) string {
	t.Helper()
	out, err := labCmd("lab/lab.sh", "exec", host, command)
	if err != nil {
		t.Fatalf("%s: %s: %v\n%s", host, command, err, out)
	}
	return strings.TrimSpace(string(out))
}

func changedOn(r runResult, task string) map[string]bool {
	m := map[string]bool{}
	for _, hr := range r.results {
		if hr.Task == task && hr.Status == "changed" {
			key := hr.Host
			if hr.Item != "" {
				key += "/" + hr.Item
			}
			m[key] = true
		}
	}
	return m
}

func parseCert(t *testing.T, pemBytes []byte) *x509.Certificate {
	t.Helper()
	b, _ := pem.Decode(pemBytes)
	if b == nil {
		t.Fatalf("no PEM in %q", pemBytes)
	}
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
