package main

import (
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/kplay-dev/kplay/roles"
)

// variableBlocks counts `variable "x" {` headers in the embedded role's files, independently
// of the config loader kplay uses.
func variableBlocks(t *testing.T, role string) int {
	t.Helper()
	header := regexp.MustCompile(`(?m)^variable "[a-z0-9_]+" \{`)
	n := 0
	matches, err := fs.Glob(roles.FS, role+"/*.hcl")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range matches {
		b, err := fs.ReadFile(roles.FS, m)
		if err != nil {
			t.Fatal(err)
		}
		n += len(header.FindAll(b, -1))
	}
	return n
}

// roleRows parses the table of kplay roles list into name -> [origin, variables].
func roleRows(t *testing.T, out string) map[string][2]string {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) == 0 || strings.Fields(lines[0])[0] != "NAME" {
		t.Fatalf("no header:\n%s", out)
	}
	rows := map[string][2]string{}
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		rows[f[0]] = [2]string{strings.Join(f[1:len(f)-1], " "), f[len(f)-1]}
	}
	return rows
}

func TestRolesList(t *testing.T) {
	dir := t.TempDir()
	res := runKplay(t, dir, "roles", "list")
	wantExit(t, res, exitOK)
	rows := roleRows(t, res.stdout)
	names := embeddedRoleNames()
	if len(names) < 3 || len(rows) != len(names) {
		t.Fatalf("rows %v for embedded roles %v", rows, names)
	}
	for _, name := range names {
		want := [2]string{"embedded", strconv.Itoa(variableBlocks(t, name))}
		if rows[name] != want {
			t.Errorf("%s: %v, want %v", name, rows[name], want)
		}
	}

	// A local role, and a local copy of an embedded one with a variable more.
	writeTree(t, dir, map[string]string{
		"roles/mine/main.hcl": "variable \"a\" {}\nvariable \"b\" {}\n",
	})
	wantExit(t, runKplay(t, dir, "roles", "export", "pki"), exitOK)
	f, err := os.OpenFile(filepath.Join(dir, "roles", "pki", "main.hcl"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("\nvariable \"extra\" {}\n")
	f.Close()
	rows = roleRows(t, runKplay(t, dir, "roles", "list").stdout)
	if want := [2]string{"roles/mine", "2"}; rows["mine"] != want {
		t.Errorf("mine: %v, want %v", rows["mine"], want)
	}
	want := [2]string{"roles/pki (overrides embedded)", strconv.Itoa(variableBlocks(t, "pki") + 1)}
	if rows["pki"] != want {
		t.Errorf("pki: %v, want %v", rows["pki"], want)
	}
}

// The variables every role shares show as the role "cluster", once.
func TestRolesShowCluster(t *testing.T) {
	res := runKplay(t, t.TempDir(), "roles", "show", "cluster")
	wantExit(t, res, exitOK)
	for _, want := range []string{
		"\nstage_dir\n  type:        string\n  default:     \"/stage\"\n" +
			"  description: Directory on the deploy host that holds every artifact",
		// Defaults are shown as written, not evaluated.
		"\npki_dir\n  type:        string\n  default:     \"${kplay.state_dir}/pki\"\n",
		"\netcd_client_port\n  type:        number\n  default:     2379\n",
	} {
		if !strings.Contains(res.stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, res.stdout)
		}
	}
}

func TestRolesShow(t *testing.T) {
	res := runKplay(t, t.TempDir(), "roles", "show", "etcd")
	wantExit(t, res, exitOK)
	out := res.stdout
	if !strings.HasPrefix(out, "role etcd: embedded, "+strconv.Itoa(variableBlocks(t, "etcd"))+" variables") {
		t.Errorf("heading: %q", strings.SplitN(out, "\n", 2)[0])
	}
	for _, want := range []string{
		"(every role also sees the cluster variables: kplay roles show cluster)",
		// A multi-line default keeps its shape, indented under its label.
		"\netcdctl\n  type:        list(string)\n  default:     [\n                 \"${var.bin_dir}/etcdctl\",\n",
		"\n               ]\n  description: etcdctl talking",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestRolesShowErrors(t *testing.T) {
	dir := t.TempDir()
	res := runKplay(t, dir, "roles", "show", "etc")
	wantExit(t, res, exitBadOptions)
	if !strings.Contains(res.stderr, `did you mean "etcd"?`) {
		t.Errorf("stderr = %q, want a suggestion", res.stderr)
	}

	writeTree(t, dir, map[string]string{"roles/broken/main.hcl": "variable \"x\" {\n  type = string\n  default = \n}\n"})
	res = runKplay(t, dir, "roles", "show", "broken")
	wantExit(t, res, exitInvalid)
	if d := parseDiagnostics(res.stderr); len(d) == 0 || d[0].file != "roles/broken/main.hcl" || d[0].line != 3 {
		t.Errorf("diagnostics = %+v, want one citing roles/broken/main.hcl line 3\n%s", d, res.stderr)
	}
}

func TestRolesExport(t *testing.T) {
	dir := t.TempDir()
	res := runKplay(t, dir, "roles", "export", "etcd")
	wantExit(t, res, exitOK)
	if !strings.Contains(res.stdout, "exported role etcd to roles/etcd\n") {
		t.Errorf("stdout = %q", res.stdout)
	}
	embedded := embeddedTree(t, "etcd")
	if got := readTree(t, filepath.Join(dir, "roles", "etcd")); !maps.Equal(got, embedded) {
		t.Fatalf("exported files differ from the embedded role: %v", slices.Sorted(maps.Keys(got)))
	}
	if left := readTree(t, filepath.Join(dir, "roles")); len(left) != len(embedded) {
		t.Errorf("files beside the role after export: %v", slices.Sorted(maps.Keys(left)))
	}

	// Edits survive a second export, which is refused; --force puts the role back as shipped.
	writeTree(t, dir, map[string]string{"roles/etcd/main.hcl": "# edited\n", "roles/etcd/extra.hcl": "\n"})
	res = runKplay(t, dir, "roles", "export", "etcd")
	wantExit(t, res, exitBadOptions)
	if !strings.Contains(res.stderr, "roles/etcd already exists") || !strings.Contains(res.stderr, "--force") {
		t.Errorf("stderr = %q", res.stderr)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "roles", "etcd", "main.hcl")); string(b) != "# edited\n" {
		t.Errorf("a refused export changed main.hcl to %q", b)
	}
	wantExit(t, runKplay(t, dir, "roles", "export", "--force", "etcd"), exitOK)
	if got := readTree(t, filepath.Join(dir, "roles", "etcd")); !maps.Equal(got, embedded) {
		t.Errorf("after --force: %v, want the embedded files only", slices.Sorted(maps.Keys(got)))
	}

	res = runKplay(t, dir, "roles", "export", "pki", "--dir", "site/roles")
	wantExit(t, res, exitOK)
	if !strings.Contains(res.stdout, "a playbook in site now uses it") {
		t.Errorf("stdout = %q", res.stdout)
	}
	if got := readTree(t, filepath.Join(dir, "site", "roles", "pki")); !maps.Equal(got, embeddedTree(t, "pki")) {
		t.Errorf("--dir export: %v", slices.Sorted(maps.Keys(got)))
	}
}

func TestRolesExportUnknown(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"roles/mine/main.hcl": "\n"})
	for _, name := range []string{"nope", "mine"} { // only embedded roles can be exported
		res := runKplay(t, dir, "roles", "export", name)
		wantExit(t, res, exitBadOptions)
		if !strings.Contains(res.stderr, `no embedded role named "`+name+`"`) {
			t.Errorf("stderr = %q", res.stderr)
		}
	}
}

func embeddedTree(t *testing.T, role string) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := fs.WalkDir(roles.FS, role, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(roles.FS, p)
		files[strings.TrimPrefix(p, role+"/")] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("embedded role %s has no files", role)
	}
	return files
}

func TestRolesShowHidesSensitiveDefaults(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"roles/secret/main.hcl": `
variable "token" {
  type        = string
  default     = "hunter2"
  sensitive   = true
  description = "API token."
}

variable "endpoint" {
  type = string
}
`})
	res := runKplay(t, dir, "roles", "show", "secret")
	wantExit(t, res, exitOK)
	want := "role secret: roles/secret, 2 variables, 0 tasks, 0 handlers\n\n" +
		"token\n  type:        string\n  default:     (sensitive)\n  sensitive:   true\n  description: API token.\n\n" +
		"endpoint\n  type:        string\n  default:     none: the variable is required\n" +
		"\n(every role also sees the cluster variables: kplay roles show cluster)\n"
	if res.stdout != want {
		t.Errorf("got:\n%s\nwant:\n%s", res.stdout, want)
	}
}
