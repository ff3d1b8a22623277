package config_test

import (
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/hashicorp/hcl/v2"

	"github.com/kplay-dev/kplay/engine/config"
	"github.com/kplay-dev/kplay/engine/modules"
	"github.com/kplay-dev/kplay/engine/output"
)

// fuzzRolePlaybook is a fixed playbook that uses the role made of the fuzzed bytes, so the
// bytes are also decoded the way a role file is.
const fuzzRolePlaybook = `play "p" {
  hosts = "all"
  roles = ["fuzz"]
}
`

// FuzzParseConfig feeds arbitrary bytes to the parser and, when they parse, to the loader
// twice: as a playbook (site.hcl) and as the only file of a role. Whatever the input, the
// loader must answer with diagnostics, never a panic, and every diagnostic must render.
func FuzzParseConfig(f *testing.F) {
	dir := f.TempDir()
	roleDir := filepath.Join(dir, "roles", "fuzz")
	if err := os.MkdirAll(filepath.Join(roleDir, "templates"), 0o755); err != nil {
		f.Fatal(err)
	}
	tmpl := []byte("name=${host.name} token=${var.x}\n")
	if err := os.WriteFile(filepath.Join(roleDir, "templates", "t.tmpl"), tmpl, 0o644); err != nil {
		f.Fatal(err)
	}
	writeFile(f, filepath.Join(dir, "role.hcl"), []byte(fuzzRolePlaybook))
	f.Add([]byte(fuzzRolePlaybook))

	f.Fuzz(func(t *testing.T, src []byte) {
		file, diags := config.NewParser().ParseSource(src, "fuzz.hcl")
		if file == nil && !diags.HasErrors() {
			t.Fatalf("ParseSource refused the source without an error")
		}
		if file == nil || diags.HasErrors() {
			return
		}
		writeFile(t, filepath.Join(dir, "site.hcl"), src)
		writeFile(t, filepath.Join(roleDir, "main.hcl"), src)
		loadAndCheck(t, dir, "site.hcl")
		loadAndCheck(t, dir, "role.hcl")
	})
}

// loadAndCheck loads the playbook as `kplay validate` does: the playbook with its roles,
// then, if that found no error, every reference; then renders the diagnostics.
func loadAndCheck(t *testing.T, dir, playbook string) {
	l := config.NewLoader(modules.Specs(), config.RoleSource{Dir: filepath.Join(dir, "roles")})
	pb, diags := l.LoadPlaybook(filepath.Join(dir, playbook))
	if pb == nil {
		t.Fatalf("LoadPlaybook(%s) returned a nil playbook", playbook)
	}
	if !diags.HasErrors() {
		diags = append(diags, l.CheckScope(pb, config.Scope{
			Vars: map[string]bool{"x": true}, Groups: []string{"all", "etcd"}, Hosts: []string{"n1"},
		})...)
	}
	checkDiagnostics(t, diags)
	output.Diagnostics(io.Discard, l.Parser.Files(), diags, false)
}

// checkDiagnostics asserts what the renderer and users rely on: an error says what is
// wrong.
func checkDiagnostics(t *testing.T, diags hcl.Diagnostics) {
	for _, d := range diags {
		if d == nil {
			t.Fatal("nil diagnostic")
		}
		if d.Summary == "" {
			t.Errorf("diagnostic without a summary: %+v", d)
		}
	}
}

func writeFile(tb testing.TB, path string, src []byte) {
	tb.Helper()
	if err := os.WriteFile(path, src, 0o644); err != nil {
		tb.Fatal(err)
	}
}
