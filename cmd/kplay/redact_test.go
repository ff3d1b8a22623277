package main

// The redaction check: a role variable marked sensitive, set in the inventory, reaches a
// template, a copy's content, a debug message, a command's argv, a shell line, a command's
// stdout and a failing command's stderr. Runs of the real binary on the local connection, with every output
// kplay has (human -v --diff, JSON events, the developer log at debug level), must not
// show the value anywhere.

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const redactSecret = "s3cr3t-T0KEN-4f9a2c"

// redactVariables declares the role's inputs; the task sets below use var.token
// everywhere a value can end up in output.
const redactVariables = `
variable "token" {
  sensitive = true
}

variable "out_dir" {}
`

// redactTasks pass the token to the host in every way that shows something: a file's
// diff, a message, a command line.
const redactTasks = `
task "template with the token" {
  template {
    src  = "token.conf"
    dest = "${var.out_dir}/token.conf"
  }
}

task "copy with the token" {
  copy {
    content = "token=${var.token}\n"
    dest    = "${var.out_dir}/copied"
  }
}

task "debug the token" {
  debug {
    msg = "the token is ${var.token}"
  }
}

task "argv with the token" {
  command {
    argv = ["test", "-n", var.token]
  }
}

task "shell with the token" {
  shell {
    cmd = "echo token=${var.token} >/dev/null && echo done"
  }
}
`

// redactOutputTasks are commands whose own output holds the token.
const redactOutputTasks = `
task "echo the token" {
  command {
    argv = ["echo", var.token]
  }
}

task "failing shell with the token" {
  shell {
    cmd = "echo bad token ${var.token} >&2; exit 3"
  }
  ignore_errors = true
}
`

const redactSite = `
play "secrets" {
  hosts        = "deploy"
  gather_facts = false
  roles        = ["secret"]
}
`

func redactHosts(token, outDir string) string {
	return fmt.Sprintf(`
host "deploy" {
  connection = "local"
}

vars = {
  token   = %q
  out_dir = %q
}
`, token, outDir)
}

// redactProject writes the playbook, the role with the given tasks and an inventory
// setting the token.
func redactProject(t *testing.T, token, tasks string) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"site.hcl":                          redactSite,
		"hosts.hcl":                         redactHosts(token, filepath.Join(dir, "out")),
		"roles/secret/main.hcl":             redactVariables + tasks,
		"roles/secret/templates/token.conf": "token = ${var.token}\n",
	}
	writeTree(t, dir, files)
	if err := os.MkdirAll(filepath.Join(dir, "out"), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// leaks runs kplay with args in dir and returns every place the secrets show up (stdout,
// stderr and the log file), and stdout.
func leaks(t *testing.T, dir string, secrets []string, args ...string) (found []string, stdout string) {
	t.Helper()
	mode := strings.Join(args, " ")
	logFile := filepath.Join(dir, "kplay.log")
	os.Remove(logFile)
	args = append([]string{"run", "site.hcl", "-i", "hosts.hcl", "--log-file", logFile}, args...)
	res := runKplay(t, dir, args...)
	if res.crashed() || res.code != exitOK {
		t.Fatalf("kplay %s: exit %d\n%s%s", mode, res.code, res.stdout, res.stderr)
	}
	log, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatalf("no log file: %v", err)
	}
	for _, s := range secrets {
		for name, text := range map[string]string{"stdout": res.stdout, "stderr": res.stderr, "log file": string(log)} {
			for _, line := range strings.Split(text, "\n") {
				if strings.Contains(line, s) {
					found = append(found, fmt.Sprintf("%s (%s): %s", name, mode, line))
				}
			}
		}
	}
	return found, res.stdout
}

// checkNoLeaks fails on any leak, or skips listing them when known says why they are
// expected today.
func checkNoLeaks(t *testing.T, found []string, known string) {
	t.Helper()
	switch {
	case len(found) > 0 && known != "":
		t.Skipf("known leak: %s\n%s", known, strings.Join(found, "\n"))
	case len(found) > 0:
		t.Fatalf("the sensitive value leaked %d time(s):\n%s", len(found), strings.Join(found, "\n"))
	case known != "":
		t.Errorf("no leak any more: clear the known leak (%s)", known)
	}
}

// TestSensitiveValueNeverShown runs the role in every output mode and asserts the token
// reaches the host (the files hold it) but no output.
func TestSensitiveValueNeverShown(t *testing.T) {
	dir := redactProject(t, redactSecret, redactTasks)
	found, stdout := leaks(t, dir, []string{redactSecret}, "--diff", "-v")
	// The debug message shows where the value was; the template's and the copy's diffs say
	// they hold a sensitive value instead of showing either side (the old side could hold
	// a previous value the redactor does not know).
	if n := strings.Count(stdout, "(sensitive value)"); n < 1 {
		t.Errorf("the output shows the redaction mark %d time(s), want 1 or more:\n%s", n, stdout)
	}
	if n := strings.Count(stdout, "it holds a sensitive value: not shown"); n < 2 {
		t.Errorf("the output notes %d diff(s) holding a sensitive value, want 2:\n%s", n, stdout)
	}
	got, err := os.ReadFile(filepath.Join(dir, "out", "token.conf"))
	if err != nil || string(got) != "token = "+redactSecret+"\n" {
		t.Fatalf("the template did not reach the host with the token: %q, %v", got, err)
	}
	// A fresh output directory makes the next run write, and so diff, again.
	if err := os.RemoveAll(filepath.Join(dir, "out")); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "out"), 0o755); err != nil {
		t.Fatal(err)
	}
	more, _ := leaks(t, dir, []string{redactSecret}, "--diff", "-vvv", "--output", "json")
	found = append(found, more...)
	more, _ = leaks(t, dir, []string{redactSecret}, "--check", "--diff", "-vvv")
	found = append(found, more...)
	checkNoLeaks(t, found, "")
}

// TestSensitiveCommandOutputNeverShown runs commands that print the token: -v shows their
// stdout and stderr, a failure's message quotes stderr, and JSON events carry all three.
func TestSensitiveCommandOutputNeverShown(t *testing.T) {
	dir := redactProject(t, redactSecret, redactOutputTasks)
	found, _ := leaks(t, dir, []string{redactSecret}, "-v")
	more, _ := leaks(t, dir, []string{redactSecret}, "-vvv", "--output", "json")
	found = append(found, more...)
	checkNoLeaks(t, found, "")
}

// TestRotatedSensitiveValueNeverShown changes the token between runs: the diff of the
// second run has the old value on its minus side, and that one is a secret too.
func TestRotatedSensitiveValueNeverShown(t *testing.T) {
	const old = "previous-Q7w2xZ-9d1e"
	dir := redactProject(t, old, redactTasks)
	if res := runKplay(t, dir, "run", "site.hcl", "-i", "hosts.hcl"); res.code != exitOK {
		t.Fatalf("first run: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	writeTree(t, dir, map[string]string{"hosts.hcl": redactHosts(redactSecret, filepath.Join(dir, "out"))})
	found, _ := leaks(t, dir, []string{old, redactSecret}, "--diff", "-v")
	checkNoLeaks(t, found, "")
}
