package main

// The corpus: every directory of testdata/invalid is a playbook (site.hcl), an inventory
// (hosts.hcl) and maybe roles/ and templates/, with mistakes in them. The line of each
// mistake carries a comment ending in `# ERROR: <summary>`; a line that is only
// `# DETAIL: <text>` says what the detail of the next mark in the same file must contain.
// Both `kplay validate` and `kplay run` must exit 4 with exactly one diagnostic per mark,
// citing the mark's file and line, and no other error.
//
// Every ssh host of a case points at 127.0.0.1:__PORT__, which the test replaces with
// the port of a listener it owns, and the test appends a defaults block giving every host
// a key (kplay does not dial at all without one): a run that got past validation would
// have to connect there, and the test asserts that nobody did.

import (
	"bufio"
	"bytes"
	"crypto/ed25519"
	"encoding/pem"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	gossh "golang.org/x/crypto/ssh"
)

// kplayBin is the binary under test, built once by TestMain: running the real binary
// checks exit codes and that a crash is a crash, not a recovered panic in a test.
var kplayBin string

// keyFile is an ssh private key the inventories of the tests give their hosts.
var keyFile string

func TestMain(m *testing.M) {
	os.Exit(buildAndRun(m))
}

func buildAndRun(m *testing.M) int {
	dir, err := os.MkdirTemp("", "kplay-corpus-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "corpus: temp dir:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	kplayBin = filepath.Join(dir, "kplay")
	keyFile = filepath.Join(dir, "id_ed25519")
	if err := writeKey(keyFile); err != nil {
		fmt.Fprintln(os.Stderr, "corpus: ssh key:", err)
		return 1
	}
	build := exec.Command("go", "build", "-o", kplayBin, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "corpus: building kplay:", err)
		return 1
	}
	return m.Run()
}

// knownBugs are cases that fail today, with why. Such a case still runs: it is skipped
// with its failures when it fails, and fails once it passes, so the entry gets removed.
var knownBugs = map[string]string{}

const portPlaceholder = "__PORT__"

func TestInvalidCorpus(t *testing.T) {
	cases, err := os.ReadDir(filepath.Join("testdata", "invalid"))
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) < 25 {
		t.Fatalf("the corpus has %d cases; it should have at least 25", len(cases))
	}
	for _, c := range cases {
		if !c.IsDir() {
			continue
		}
		t.Run(c.Name(), func(t *testing.T) {
			t.Parallel()
			runCase(t, c.Name())
		})
	}
}

func runCase(t *testing.T, name string) {
	src := filepath.Join("testdata", "invalid", name)
	marks := readMarks(t, src)
	if len(marks) == 0 {
		t.Fatalf("%s has no # ERROR: mark", src)
	}
	var failures []string
	for _, verb := range []string{"validate", "run"} {
		dir, l := caseDir(t, src)
		res := runKplay(t, dir, verb, "site.hcl", "-i", "hosts.hcl")
		var fs []string
		if res.crashed() {
			fs = append(fs, fmt.Sprintf("crashed with exit %d", res.code))
		}
		fs = append(fs, checkResult(res, marks)...)
		if n := l.connections(t); n != 0 {
			fs = append(fs, fmt.Sprintf("connected %d time(s) to the host", n))
		}
		for _, f := range fs {
			failures = append(failures, fmt.Sprintf("kplay %s: %s", verb, f))
		}
		if len(fs) > 0 {
			failures = append(failures, "output:\n"+res.stdout+res.stderr)
		}
	}
	bug, known := knownBugs[name]
	switch {
	case known && len(failures) > 0:
		t.Skipf("known bug: %s\n%s", bug, strings.Join(failures, "\n"))
	case known:
		t.Errorf("case passes now: remove it from knownBugs (%s)", bug)
	case len(failures) > 0:
		t.Error(strings.Join(failures, "\n"))
	}
}

// checkResult lists how res differs from what the marks expect: exit 4, one diagnostic per
// mark at its place with its summary, and no other error.
func checkResult(res result, marks []mark) []string {
	var out []string
	if res.code != exitInvalid {
		out = append(out, fmt.Sprintf("exit code %d, want %d", res.code, exitInvalid))
	}
	diags := parseDiagnostics(res.stderr)
	used := make([]bool, len(diags))
	for _, m := range marks {
		var found []int
		for i, d := range diags {
			if d.summary == m.summary && d.file == m.file && d.line == m.line {
				found = append(found, i)
			}
		}
		switch {
		case len(found) == 0:
			out = append(out, fmt.Sprintf("no %q diagnostic citing %s line %d", m.summary, m.file, m.line))
			continue
		case len(found) > 1:
			out = append(out, fmt.Sprintf("%d %q diagnostics citing %s line %d, want 1", len(found), m.summary, m.file, m.line))
		}
		for _, i := range found {
			used[i] = true
		}
		if d := diags[found[0]]; !strings.Contains(strings.ToLower(d.detail), strings.ToLower(m.detail)) {
			out = append(out, fmt.Sprintf("%s line %d: detail %q does not say %q", m.file, m.line, d.detail, m.detail))
		}
	}
	for i, d := range diags {
		if !used[i] && d.severity == "Error" {
			out = append(out, fmt.Sprintf("unexpected %q diagnostic citing %s line %d", d.summary, d.file, d.line))
		}
	}
	return out
}

// mark is an expected diagnostic, written in the fixture on the line it must cite.
type mark struct {
	file    string // slash-separated, relative to the case directory, as kplay names it
	line    int
	summary string
	detail  string
}

// readMarks collects the marks of every file of the case directory.
func readMarks(t *testing.T, dir string) []mark {
	t.Helper()
	var marks []mark
	err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		src, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		marks = append(marks, marksIn(filepath.ToSlash(rel), src)...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return marks
}

func marksIn(file string, src []byte) []mark {
	var marks []mark
	detail := ""
	for i, line := range bytes.Split(src, []byte("\n")) {
		s := string(line)
		if d, ok := strings.CutPrefix(strings.TrimSpace(s), "# DETAIL: "); ok {
			detail = d
			continue
		}
		if _, summary, ok := strings.Cut(s, "# ERROR: "); ok {
			marks = append(marks, mark{file: file, line: i + 1, summary: strings.TrimSpace(summary), detail: detail})
			detail = ""
		}
	}
	return marks
}

// diagnostic is one diagnostic as hcl's text writer printed it.
type diagnostic struct {
	severity, summary string
	file              string
	line              int
	// detail is the text under the snippet, its line wrapping undone.
	detail string
}

var (
	diagStart   = regexp.MustCompile(`^(Error|Warning): (.*)$`)
	diagSubject = regexp.MustCompile(`^  on (.+) line (\d+)(, in .*)?:$`)
	diagSnippet = regexp.MustCompile(`^\s*\d+: `)
)

func parseDiagnostics(out string) []diagnostic {
	var diags []diagnostic
	var cur *diagnostic
	var detail []string
	flush := func() {
		if cur != nil {
			cur.detail = strings.Join(strings.Fields(strings.Join(detail, " ")), " ")
			diags = append(diags, *cur)
		}
		cur, detail = nil, nil
	}
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		line := sc.Text()
		switch m := diagStart.FindStringSubmatch(line); {
		case m != nil:
			flush()
			cur = &diagnostic{severity: m[1], summary: m[2]}
		case strings.HasPrefix(line, "kplay: "):
			flush()
		case cur == nil:
		case cur.file == "" && diagSubject.MatchString(line):
			s := diagSubject.FindStringSubmatch(line)
			cur.file = s[1]
			cur.line, _ = strconv.Atoi(s[2])
		case !diagSnippet.MatchString(line):
			detail = append(detail, line)
		}
	}
	flush()
	return diags
}

// result is how a run of kplay ended.
type result struct {
	code           int
	stdout, stderr string
}

// crashed reports a Go panic or runtime fatal error, which a user's input must never cause.
func (r result) crashed() bool {
	all := r.stdout + r.stderr
	return strings.Contains(all, "panic: ") || strings.Contains(all, "fatal error: ") ||
		strings.Contains(all, "goroutine ")
}

// runKplay runs the binary in dir with no ssh-agent and a HOME of its own, so nothing of
// the user's ~/.ssh is read.
func runKplay(t *testing.T, dir string, args ...string) result {
	t.Helper()
	return runKplayWith(t, dir, runOpts{}, args...)
}

// runOpts changes how runKplayWith starts the binary.
type runOpts struct {
	home  string    // HOME, for a test that writes ~/.ssh/config; a new directory if empty
	stdin io.Reader // standard input; /dev/null if nil
}

// runKplayWith runs the binary as runKplay does, with the HOME and stdin of o.
func runKplayWith(t *testing.T, dir string, o runOpts, args ...string) result {
	t.Helper()
	cmd := exec.Command(kplayBin, args...)
	cmd.Dir = dir
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SSH_AUTH_SOCK=") && !strings.HasPrefix(kv, "HOME=") {
			env = append(env, kv)
		}
	}
	if o.home == "" {
		o.home = t.TempDir()
	}
	cmd.Env = append(env, "NO_COLOR=1", "HOME="+o.home)
	cmd.Stdin = o.stdin
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	res := result{stdout: stdout.String(), stderr: stderr.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		res.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running kplay: %v", err)
	}
	return res
}

// deployOnly is an inventory of the deploy host alone, reached without SSH.
const deployOnly = "host \"deploy\" {\n  connection = \"local\"\n}\n"

// writeLocalPlay writes deployOnly to dir/hosts.hcl and, to dir/name, one play on the
// deploy host without facts that holds tasks (HCL task blocks).
func writeLocalPlay(t *testing.T, dir, name, tasks string) {
	t.Helper()
	writeTree(t, dir, map[string]string{
		"hosts.hcl": deployOnly,
		name:        "play \"p\" {\n  hosts        = \"deploy\"\n  gather_facts = false\n" + tasks + "}\n",
	})
}

// caseDir copies the case at src to a temp dir, pointing hosts.hcl at a new listener.
func caseDir(t *testing.T, src string) (string, *listener) {
	t.Helper()
	hosts, err := os.ReadFile(filepath.Join(src, "hosts.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(hosts, []byte(portPlaceholder)) || bytes.Contains(hosts, []byte(`"local"`)) {
		t.Fatalf("%s/hosts.hcl must point its hosts at port %s and use no local connection", src, portPlaceholder)
	}
	l := listen(t)
	dst := t.TempDir()
	err = filepath.WalkDir(src, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if e.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if rel == "hosts.hcl" {
			b = []byte(inventoryText(string(b), l))
		}
		return os.WriteFile(target, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst, l
}

// listener stands in for every ssh host of a case and records who connected.
type listener struct {
	ln       net.Listener
	mu       sync.Mutex
	accepted []string // remote addresses, in accept order
	more     chan struct{}
}

func listen(t *testing.T) *listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := &listener{ln: ln, more: make(chan struct{}, 1)}
	t.Cleanup(func() { ln.Close() })
	go l.serve()
	return l
}

func (l *listener) port() int { return l.ln.Addr().(*net.TCPAddr).Port }

func (l *listener) serve() {
	for {
		c, err := l.ln.Accept()
		if err != nil {
			return
		}
		l.mu.Lock()
		l.accepted = append(l.accepted, c.RemoteAddr().String())
		l.mu.Unlock()
		c.Close()
		select {
		case l.more <- struct{}{}:
		default:
		}
	}
}

// connections counts the connections accepted so far. It connects once itself and waits
// for that connection: the accept queue is first in, first out, so every connection kplay
// made before exiting has been counted by then, without any sleep.
func (l *listener) connections(t *testing.T) int {
	t.Helper()
	probe, err := net.Dial("tcp", l.ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer probe.Close()
	me := probe.LocalAddr().String()
	for {
		l.mu.Lock()
		for i, a := range l.accepted {
			if a == me {
				l.accepted = append(l.accepted[:i:i], l.accepted[i+1:]...)
				n := len(l.accepted)
				l.mu.Unlock()
				return n
			}
		}
		l.mu.Unlock()
		<-l.more
	}
}

// validFixture is a small playbook that must load: it proves the harness can tell a valid
// input from an invalid one.
type validFixture struct {
	name  string
	files map[string]string
	// bug, when set, is why the fixture is refused today.
	bug string
}

// localHosts is the inventory of the valid fixtures: the deploy host, plus an ssh host
// at the test's listener that no play targets.
const localHosts = `
host "deploy" {
  connection = "local"
}

host "n1" {
  address = "127.0.0.1"
  port    = __PORT__
}

vars = {
  greeting = "hello"
}
`

var validFixtures = []validFixture{{
	name: "local playbook",
	files: map[string]string{
		"hosts.hcl": localHosts,
		"site.hcl": `
play "greet" {
  hosts        = "deploy"
  gather_facts = false
  roles        = ["motd"]

  task "say it" {
    debug {
      msg = "${var.greeting}, ${host.name}"
    }
  }
}
`,
		"roles/motd/main.hcl": `
variable "motd_path" {
  type    = string
  default = "${kplay.playbook_dir}/motd"
}

task "motd" {
  template {
    src  = "motd"
    dest = var.motd_path
    mode = "0640"
  }
  notify = ["motd written"]
}

handler "motd written" {
  command {
    argv = ["test", "-s", var.motd_path]
  }
}
`,
		"roles/motd/templates/motd": "${var.greeting} from ${host.name}\n",
	},
}, {
	name: "role task notifies a play handler",
	bug:  "a role's notify is checked against its own handlers only, though the runner also finds the play's (config/role.go LoadRole)",
	files: map[string]string{
		"hosts.hcl": localHosts,
		"site.hcl": `
play "p" {
  hosts        = "deploy"
  gather_facts = false
  roles        = ["touch"]

  handler "done" {
    debug {
      msg = "done"
    }
  }
}
`,
		"roles/touch/main.hcl": `
task "touch" {
  file {
    path  = "${kplay.playbook_dir}/touched"
    state = "touch"
  }
  notify = ["done"]
}
`,
	},
}}

func TestValidFixtures(t *testing.T) {
	for _, f := range validFixtures {
		t.Run(f.name, func(t *testing.T) {
			t.Parallel()
			dir, l := writeFixture(t, f.files)
			res := runKplay(t, dir, "validate", "site.hcl", "-i", "hosts.hcl")
			if res.crashed() {
				t.Fatalf("kplay validate crashed:\n%s", res.stderr)
			}
			var failures []string
			if res.code != exitOK || !strings.Contains(res.stdout, "site.hcl is valid") {
				failures = append(failures, fmt.Sprintf("validate: exit %d, want 0\n%s%s", res.code, res.stdout, res.stderr))
			}
			if n := l.connections(t); n != 0 {
				failures = append(failures, fmt.Sprintf("validate connected %d time(s)", n))
			}
			switch {
			case f.bug != "" && len(failures) > 0:
				t.Skipf("known bug: %s\n%s", f.bug, strings.Join(failures, "\n"))
			case f.bug != "":
				t.Errorf("fixture is valid now: clear its bug (%s)", f.bug)
			case len(failures) > 0:
				t.Fatal(strings.Join(failures, "\n"))
			}
		})
	}
}

// TestValidFixtureRuns runs the first valid fixture for real on the local connection: the
// template lands with its variables filled in, and the untargeted ssh host is left alone.
func TestValidFixtureRuns(t *testing.T) {
	dir, l := writeFixture(t, validFixtures[0].files)
	res := runKplay(t, dir, "run", "site.hcl", "-i", "hosts.hcl")
	if res.code != exitOK {
		t.Fatalf("run: exit %d, want 0\n%s%s", res.code, res.stdout, res.stderr)
	}
	got, err := os.ReadFile(filepath.Join(dir, "motd"))
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "hello from deploy\n" {
		t.Errorf("motd = %q, want %q", got, "hello from deploy\n")
	}
	if n := l.connections(t); n != 0 {
		t.Errorf("run connected %d time(s) to a host no play targets", n)
	}
}

// TestListenerSeesRun proves the corpus's "no connection" assertion can fail: a valid play
// on the ssh host makes kplay connect to the listener (and fail, as it speaks no ssh).
func TestListenerSeesRun(t *testing.T) {
	dir, l := writeFixture(t, map[string]string{
		"hosts.hcl": localHosts,
		"site.hcl": `
play "p" {
  hosts = "n1"
  task "t" {
    command {
      argv = ["true"]
    }
  }
}
`,
	})
	res := runKplay(t, dir, "run", "site.hcl", "-i", "hosts.hcl", "--accept-new-host-keys")
	if n := l.connections(t); n == 0 {
		t.Fatalf("the listener saw no connection; the corpus could not notice one either\n%s%s", res.stdout, res.stderr)
	}
	if res.crashed() {
		t.Skipf("known bug: an unreachable ssh host crashes kplay at the end of the run: the dialer "+
			"returns a nil *ssh.Conn inside a non-nil connection.Conn (cmd/kplay/run.go dialer)\n%s", res.stderr)
	}
	if res.code != exitUnreachable {
		t.Errorf("run: exit %d, want %d (unreachable)\n%s%s", res.code, exitUnreachable, res.stdout, res.stderr)
	}
}

// TestDeepNesting feeds a value nested far deeper than the corpus's 2000 levels, as a
// generated file could be: kplay must refuse it with a diagnostic, not overflow its stack.
func TestDeepNesting(t *testing.T) {
	const depth = 200000
	src := "play \"p\" {\n  hosts = \"n1\"\n  vars = {\n    deep = " +
		strings.Repeat("[", depth) + strings.Repeat("]", depth) + "\n  }\n}\n"
	dir, l := writeFixture(t, map[string]string{"site.hcl": src, "hosts.hcl": localHosts})
	for _, verb := range []string{"validate", "run"} {
		res := runKplay(t, dir, verb, "site.hcl", "-i", "hosts.hcl")
		if res.crashed() || res.code != exitInvalid {
			t.Errorf("kplay %s: exit %d, want %d\n%.2000s", verb, res.code, exitInvalid, res.stderr)
		}
		if d := parseDiagnostics(res.stderr); len(d) == 0 || d[0].file != "site.hcl" || d[0].line != 4 {
			t.Errorf("kplay %s: want a diagnostic citing site.hcl line 4, got %+v", verb, d)
		}
	}
	if n := l.connections(t); n != 0 {
		t.Errorf("kplay connected %d time(s)", n)
	}
}

// writeFixture writes files to a temp dir, pointing hosts.hcl at a new listener.
func writeFixture(t *testing.T, files map[string]string) (string, *listener) {
	t.Helper()
	l := listen(t)
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if name == "hosts.hcl" {
			content = inventoryText(content, l)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir, l
}

// inventoryText points an inventory at the listener and gives its hosts the test's key.
// The key goes in a block appended at the end, so no line of the fixture moves.
func inventoryText(src string, l *listener) string {
	src = strings.ReplaceAll(src, portPlaceholder, strconv.Itoa(l.port()))
	return src + fmt.Sprintf("\ndefaults {\n  key_files = [%q]\n}\n", keyFile)
}

func writeKey(path string) error {
	_, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		return err
	}
	block, err := gossh.MarshalPrivateKey(priv, "")
	if err != nil {
		return err
	}
	return os.WriteFile(path, pem.EncodeToMemory(block), 0o600)
}
