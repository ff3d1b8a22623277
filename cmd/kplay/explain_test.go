package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// explain names the winning layer for a variable set in six places, each with its line.
func TestExplain(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"hosts.hcl": `host "n1" {
  address = "127.0.0.1"
  vars = {
    port = 4
  }
}
group "parent" {
  children = ["child"]
  vars = {
    port = 2
  }
}
group "child" {
  hosts = ["n1"]
  vars = {
    port = 3
  }
}
vars = {
  port = 1
}
`,
		"site.hcl": `play "web" {
  hosts = "n1"
  roles = ["web"]
  vars = {
    port = 5
  }
}
`,
		"roles/web/main.hcl": `variable "port" {
  type    = number
  default = 80
}
task "show" {
  debug { msg = var.port }
}
`,
	}
	for name, src := range files {
		os.MkdirAll(filepath.Join(dir, filepath.Dir(name)), 0o755)
		os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644)
	}
	r := runKplay(t, dir, "explain", "site.hcl", "port", "-i", "hosts.hcl", "--host", "n1", "-e", "port=6")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	want := []string{
		"port on n1 (play \"web\", role web) = 6",
		"default of role web", "roles/web/main.hcl:3", "80",
		"inventory vars", "hosts.hcl:20",
		"group parent", "hosts.hcl:10",
		"group child", "hosts.hcl:16",
		"host n1", "hosts.hcl:4",
		"play web", "site.hcl:5",
		"=> command line (-e)",
	}
	at := 0
	for _, w := range want {
		i := strings.Index(r.stdout[at:], w)
		if i < 0 {
			t.Fatalf("explain output lacks %q after position %d:\n%s", w, at, r.stdout)
		}
		at += i + len(w)
	}
	r = runKplay(t, dir, "explain", "site.hcl", "port", "-i", "hosts.hcl", "--host", "n1")
	if !strings.Contains(r.stdout, "=> play web") || !strings.Contains(r.stdout, "= 5") {
		t.Errorf("without -e the play's value must win:\n%s", r.stdout)
	}
	if r := runKplay(t, dir, "explain", "site.hcl", "port", "-i", "hosts.hcl", "--host", "nope"); r.code != 5 {
		t.Errorf("unknown host: exit %d, want 5", r.code)
	}
}
