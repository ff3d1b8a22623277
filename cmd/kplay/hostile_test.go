package main

import (
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kplay-dev/kplay/engine/connection/ssh/sshtest"
)

// hostileNames are inventory values that would run commands, split words or break a line
// if any module pasted them into a shell command unquoted. Each contains "MARK", which the
// test replaces with a file name (no slash: the names are path components) that must
// never come to exist in any directory a shell could have run in.
var hostileNames = []string{
	"two words",
	"it's",
	`"double"`,
	"$(touch MARK)",
	"`touch MARK`",
	"x;touch MARK",
	"x&&touch MARK",
	"a|touch MARK",
	"line\ntouch MARK",
	"${IFS}touch${IFS}MARK",
	"-rf",
	"*",
}

// Values from the inventory reach file, copy, template and command on the host as the
// literal names they are, over a local connection and over SSH: quoted, never executed.
func TestHostileInventoryValuesAreNeverExecuted(t *testing.T) {
	server := sshtest.Start(t)
	for _, via := range []string{"local", "ssh"} {
		t.Run(via, func(t *testing.T) {
			dir := t.TempDir()
			work := filepath.Join(dir, "work")
			os.Mkdir(work, 0o755)
			mark := fmt.Sprintf("kplay-pwned-%d", time.Now().UnixNano())
			conn := `connection = "local"`
			defaults := ""
			if via == "ssh" {
				conn = fmt.Sprintf("address = %q\n  port    = %d", server.Host, server.Port)
				defaults = fmt.Sprintf("defaults {\n  user        = %q\n  key_files   = [%q]\n  known_hosts = %q\n}\n",
					server.User, server.KeyFile, server.KnownHosts)
			}
			var names []string
			for _, n := range hostileNames {
				names = append(names, strings.ReplaceAll(n, "MARK", mark))
			}
			quoted := make([]string, len(names))
			for i, n := range names {
				quoted[i] = hclString(n)
			}
			os.WriteFile(filepath.Join(dir, "hosts.hcl"), []byte(fmt.Sprintf(`%s
host "target" {
  %s
  vars = {
    work  = %q
    names = [%s]
  }
}
`, defaults, conn, work, strings.Join(quoted, ", "))), 0o644)
			os.MkdirAll(filepath.Join(dir, "roles/hostile/templates"), 0o755)
			os.WriteFile(filepath.Join(dir, "roles/hostile/templates/t.tmpl"), []byte("name=${each.value}\n"), 0o644)
			os.WriteFile(filepath.Join(dir, "roles/hostile/main.hcl"), []byte(`
task "directory" {
  for_each = toset(var.names)
  file {
    path = "${var.work}/${each.value}.d"
    mode = "0750"
  }
}
task "content" {
  for_each = toset(var.names)
  copy {
    content = each.value
    dest    = "${var.work}/${each.value}.d/${each.value}"
    mode    = "0640"
  }
}
task "template" {
  for_each = toset(var.names)
  template {
    src  = "t.tmpl"
    dest = "${var.work}/${each.value}.d/t"
  }
}
task "link" {
  for_each = toset(var.names)
  file {
    state = "link"
    src   = "${var.work}/${each.value}.d/t"
    path  = "${var.work}/${each.value}.link"
  }
}
task "argv" {
  for_each = toset(var.names)
  command {
    argv    = ["touch", "--", "${var.work}/${each.value}.touched"]
    creates = "${var.work}/${each.value}.touched"
  }
}
task "shell with shellquote" {
  for_each = toset(var.names)
  shell { cmd = "printf %s ${shellquote(each.value)} > ${shellquote("${var.work}/${each.value}.printed")}" }
  changed_when = false
}
`), 0o644)
			os.WriteFile(filepath.Join(dir, "site.hcl"), []byte(`play "hostile" {
  hosts        = "target"
  gather_facts = false
  roles        = ["hostile"]
}
`), 0o644)
			for run := 0; run < 2; run++ {
				r := runKplay(t, dir, "run", "site.hcl", "-i", "hosts.hcl")
				if r.code != 0 {
					t.Fatalf("run %d: exit %d\n%s%s", run, r.code, r.stdout, r.stderr)
				}
				if run == 1 && !strings.Contains(r.stdout, "changed=0") {
					t.Errorf("the second run changed something:\n%s", r.stdout)
				}
			}
			home, _ := os.UserHomeDir()
			if u, err := user.Current(); err == nil {
				home = u.HomeDir // sshd's sessions start there, whatever $HOME says
			}
			for _, d := range []string{dir, work, home, "/", os.TempDir()} {
				if _, err := os.Stat(filepath.Join(d, mark)); err == nil {
					os.Remove(filepath.Join(d, mark))
					t.Fatalf("a hostile value was executed: %s exists", filepath.Join(d, mark))
				}
			}
			for _, n := range names {
				base := filepath.Join(work, n)
				if b, err := os.ReadFile(filepath.Join(base+".d", n)); err != nil || string(b) != n {
					t.Errorf("%q: content %q, %v", n, b, err)
				}
				if b, err := os.ReadFile(base + ".link"); err != nil || string(b) != "name="+n+"\n" {
					t.Errorf("%q: template through the link %q, %v", n, b, err)
				}
				if st, err := os.Stat(base + ".d"); err != nil || st.Mode().Perm() != 0o750 {
					t.Errorf("%q: directory %v %v", n, st, err)
				}
				if _, err := os.Stat(base + ".touched"); err != nil {
					t.Errorf("%q: argv: %v", n, err)
				}
				if b, err := os.ReadFile(base + ".printed"); err != nil || string(b) != n {
					t.Errorf("%q: shell with shellquote wrote %q, %v", n, b, err)
				}
			}
			entries, _ := os.ReadDir(work)
			if want := 4 * len(names); len(entries) != want {
				var got []string
				for _, e := range entries {
					got = append(got, fmt.Sprintf("%q", e.Name()))
				}
				t.Errorf("%d entries in the work directory, want %d: %s", len(entries), want, strings.Join(got, " "))
			}
		})
	}
}

// hclString writes s as an HCL string literal: Go's quoting plus HCL's template escapes.
func hclString(s string) string {
	q := fmt.Sprintf("%q", s)
	return strings.NewReplacer("${", "$${", "%{", "%%{").Replace(q)
}
