package main

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// stepProject is a play of four debug tasks on the deploy host.
func stepProject(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	var tasks string
	for _, name := range []string{"first", "second", "third", "fourth"} {
		tasks += "  task \"" + name + "\" {\n    debug { msg = \"ran " + name + "\" }\n  }\n"
	}
	writeLocalPlay(t, dir, "site.hcl", tasks)
	return dir
}

// --step with answers piped on stdin: n skips, y runs, c runs this task and the rest unasked.
func TestStepPipedAnswers(t *testing.T) {
	dir := stepProject(t)
	r := runKplayWith(t, dir, runOpts{stdin: strings.NewReader("n\ny\nc\n")}, "run", "site.hcl", "-i", "hosts.hcl", "--step")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{
		"Perform task: first (N)o/(y)es/(c)ontinue: n\n",
		"Perform task: second (N)o/(y)es/(c)ontinue: y\n",
		"Perform task: third (N)o/(y)es/(c)ontinue: c\n",
		"skipped: [deploy]", "ran second", "ran third", "ran fourth", "skipped=1",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, r.stdout)
		}
	}
	if strings.Contains(r.stdout, "ran first") || strings.Count(r.stdout, "Perform task:") != 3 {
		t.Errorf("task first ran, or a question was asked after c:\n%s", r.stdout)
	}
}

// Under --output json the questions go to stderr and stdout stays JSON lines.
func TestStepJSONKeepsStdoutJSON(t *testing.T) {
	dir := stepProject(t)
	r := runKplayWith(t, dir, runOpts{stdin: strings.NewReader("y\nn\nn\nn\n")}, "run", "site.hcl", "-i", "hosts.hcl", "--step", "-o", "json")
	if r.code != 0 || strings.Count(r.stderr, "Perform task:") != 4 {
		t.Fatalf("exit %d, want 0 and four questions on stderr\n%s%s", r.code, r.stdout, r.stderr)
	}
	statuses := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		var ev struct {
			Type  string
			Event struct{ Task, Status string }
		}
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("stdout line is not JSON: %q", line)
		}
		if ev.Type == "result" {
			statuses[ev.Event.Task] = ev.Event.Status
		}
	}
	want := map[string]string{"first": "ok", "second": "skipped", "third": "skipped", "fourth": "skipped"}
	for task, s := range want {
		if statuses[task] != s {
			t.Errorf("task %s: %q, want %q (all: %v)", task, statuses[task], s, statuses)
		}
	}
}

// Answers that run out stop the run as an interruption (exit 99); a stdin that can give no
// answer at all (/dev/null) is a bad option (exit 5) before anything runs.
func TestStepWithoutAnswers(t *testing.T) {
	dir := stepProject(t)
	r := runKplayWith(t, dir, runOpts{stdin: strings.NewReader("y\n")}, "run", "site.hcl", "-i", "hosts.hcl", "--step")
	if r.code != 99 || !strings.Contains(r.stdout, "ran first") || strings.Contains(r.stdout, "ran second") ||
		!strings.Contains(r.stdout, `no answer about task "second"`) {
		t.Errorf("answers ran out: exit %d, want 99 after the first task\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = runKplay(t, dir, "run", "site.hcl", "-i", "hosts.hcl", "--step")
	if r.code != 5 || !strings.Contains(r.stderr, "--step") || strings.Contains(r.stdout, "PLAY") {
		t.Errorf("stdin /dev/null: exit %d, want 5 naming --step\n%s%s", r.code, r.stdout, r.stderr)
	}
}

// -v says whether each host's facts were gathered or came from the cache, and how old they
// are; --flush-cache gathers them again.
func TestVerboseFactsSource(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "hosts.hcl"), []byte(deployOnly), 0o644)
	os.WriteFile(filepath.Join(dir, "site.hcl"), []byte("play \"p\" {\n  hosts = \"all\"\n  task \"t\" {\n    debug { msg = facts.kernel }\n  }\n}\n"), 0o644)
	run := func(args ...string) string {
		t.Helper()
		r := runKplay(t, dir, append([]string{"run", "site.hcl", "-i", "hosts.hcl"}, args...)...)
		if r.code != 0 {
			t.Fatalf("%v: exit %d\n%s%s", args, r.code, r.stdout, r.stderr)
		}
		return r.stdout
	}
	if out := run("-v"); !strings.Contains(out, "facts deploy: gathered\n") {
		t.Errorf("first run:\n%s", out)
	}
	cached := regexp.MustCompile(`facts deploy: cached (\d+m)?\d+s ago \(ttl 2h\)\n`)
	if out := run("-v"); !cached.MatchString(out) {
		t.Errorf("second run does not report the cached facts' age:\n%s", out)
	}
	if out := run("-v", "--fact-ttl", "90m"); !strings.Contains(out, "(ttl 1h30m)") {
		t.Errorf("--fact-ttl 90m is not the TTL reported:\n%s", out)
	}
	if out := run(); strings.Contains(out, "facts deploy:") {
		t.Errorf("without -v the facts' source is shown:\n%s", out)
	}
	if out := run("-o", "json"); !strings.Contains(out, `"type":"facts","time":`) || !strings.Contains(out, `"source":"cache"`) {
		t.Errorf("JSON lacks the facts event:\n%s", out)
	}
	if out := run("-v", "--flush-cache"); !strings.Contains(out, "facts deploy: gathered\n") || cached.MatchString(out) {
		t.Errorf("--flush-cache does not gather again:\n%s", out)
	}
}

// Ctrl-C while kplay waits for an answer ends the run at once, with the recap: no command
// is in flight, so there is nothing to wait the interrupt wait for.
func TestStepInterruptedAtThePrompt(t *testing.T) {
	dir := stepProject(t)
	answers, keepOpen, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer keepOpen.Close() // no answer ever comes
	cmd := exec.Command(kplayBin, "run", "site.hcl", "-i", "hosts.hcl", "--step", "--interrupt-wait", "5m")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "NO_COLOR=1", "HOME="+t.TempDir())
	cmd.Stdin = answers
	var stderr bytes.Buffer
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	answers.Close()
	var out bytes.Buffer
	buf := make([]byte, 4096)
	for !strings.Contains(out.String(), "Perform task: first") {
		n, err := stdout.Read(buf)
		out.Write(buf[:n])
		if err != nil {
			t.Fatalf("no question before the output ended: %v\n%s", err, out.String())
		}
	}
	cmd.Process.Signal(os.Interrupt)
	rest, _ := io.ReadAll(stdout)
	out.Write(rest)
	err = cmd.Wait()
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != exitInterrupted {
		t.Errorf("exit: %v, want %d", err, exitInterrupted)
	}
	if !strings.Contains(out.String(), "PLAY RECAP") || strings.Contains(stderr.String(), "gave up waiting") {
		t.Errorf("want the recap at once, not a wait for commands in flight:\n%s%s", out.String(), stderr.String())
	}
}
