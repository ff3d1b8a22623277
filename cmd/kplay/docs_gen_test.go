package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unicode"

	"github.com/hashicorp/hcl/v2"

	"github.com/kplay-dev/kplay/engine/config"
	"github.com/kplay-dev/kplay/engine/inventory"
	"github.com/kplay-dev/kplay/engine/modules"
	"github.com/kplay-dev/kplay/roles"
)

// The pages in docs/ are what `kplay docs` writes now: a change to a module, a role, a
// function or the language that is not regenerated fails here.
func TestReferenceDocsAreCurrent(t *testing.T) {
	dir := t.TempDir()
	stale := filepath.Join(dir, "roles", "gone.md")
	writeDocsFile(t, stale, "a role that no longer exists")
	runDocsCommand(t, dir)
	if _, err := os.Stat(stale); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("kplay docs kept %s, the page of a role that does not exist", stale)
	}

	got := generatedTree(t, dir)
	want := generatedTree(t, filepath.Join("..", "..", "docs"))
	const fix = "run `" + docsCommand + "` and commit the result"
	for name, page := range got {
		switch old, ok := want[name]; {
		case !ok:
			t.Errorf("docs/%s is missing: %s", name, fix)
		case !bytes.Equal(old, page):
			t.Errorf("docs/%s is out of date (first difference at line %d): %s", name, firstDiffLine(old, page), fix)
		}
	}
	for name := range want {
		if _, ok := got[name]; !ok {
			t.Errorf("docs/%s describes something that no longer exists: %s", name, fix)
		}
	}
	if len(got) < 3 {
		t.Fatalf("kplay docs wrote only %v", docsSortedKeys(got))
	}
}

// The command is there for developers, not in kplay's help.
func TestDocsCommandIsHidden(t *testing.T) {
	for _, c := range newRoot().Commands() {
		if c.Name() == "docs" {
			if !c.Hidden {
				t.Error("kplay docs shows in kplay's help")
			}
			return
		}
	}
	t.Fatal("kplay has no docs command")
}

func TestDocsAreDeterministic(t *testing.T) {
	a, err := generateDocs()
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		b, err := generateDocs()
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(a, b) {
			t.Fatal("two runs of the generator gave different pages")
		}
	}
}

// Every documented block and argument, in every place it is documented, loads through the
// real loader without a single diagnostic: the examples on the language page are valid
// and the reference names nothing the loader lacks.
func TestLanguageExamplesLoad(t *testing.T) {
	for _, f := range langFiles {
		t.Run(f.kind, func(t *testing.T) {
			full := exampleSource(f, "", nil)
			if diags := loadExample(t, f.kind, full); len(diags) > 0 {
				t.Errorf("the %s example does not load cleanly:\n%s\n%s", f.kind, full, diagText(diags))
			}
			// The short example shown on the page, after everything before it.
			shown := map[*langBlock]bool{}
			for _, g := range langFiles {
				if g.kind == f.kind {
					break
				}
				exampleSource(g, "", shown)
			}
			short := exampleSource(f, "", shown)
			if diags := loadExample(t, f.kind, short); len(diags) > 0 {
				t.Errorf("the %s example of the page does not load cleanly:\n%s\n%s", f.kind, short, diagText(diags))
			}
		})
	}
}

// Each documented name, misspelled in an otherwise valid example, is refused by the loader
// at that place: the place is checked, so the example test above is not passing only
// because the loader ignores what it is given there.
func TestLanguageMisspelledNamesAreRejected(t *testing.T) {
	for _, f := range langFiles {
		paths := langPaths(f)
		if len(paths) < 3 {
			t.Fatalf("%s: only %v documented", f.kind, paths)
		}
		for _, p := range paths {
			t.Run(p, func(t *testing.T) {
				src := exampleSource(f, p, nil)
				bad := misspellName(p[strings.LastIndexAny(p, "./")+1:])
				line := docsLineStarting(src, bad)
				if line == 0 {
					t.Fatalf("%s: the example has no line starting with %q:\n%s", p, bad, src)
				}
				diags := loadExample(t, f.kind, src)
				if !hasUnsupported(diags, line) {
					t.Errorf("%s misspelled as %q on line %d was not refused as unsupported:\n%s\n%s",
						p, bad, line, src, diagText(diags))
				}
			})
		}
	}
}

// Every field the loaders fill from an argument or a nested block is documented, so a new
// task or inventory setting cannot go into the code alone. The schemas themselves are
// unexported; the decoded structures are the next best witness.
func TestLanguageDocumentsEveryDecodedField(t *testing.T) {
	cases := []struct {
		value any
		block *langBlock
		// notFromHCL are fields the loader sets from elsewhere: labels, ranges, links.
		notFromHCL []string
	}{
		{config.Play{}, playBlock, []string{"Name", "DeclRange", "HostsRange", "Tasks", "Handlers"}},
		{config.Task{}, taskBlock, []string{"Name", "DeclRange", "Handler", "Role", "Block", "Section", "Module", "ModuleRange", "Args"}},
		{config.Block{}, blockBlock, []string{"Name", "DeclRange", "Role", "Tasks"}},
		{config.Variable{}, variableBlock, []string{"Name", "DeclRange"}},
		{config.Validation{}, validationBlock, []string{"Range"}},
		{inventory.Inventory{}, langFileBody(t, "inventory"), []string{"Path", "Dir", "Hosts", "Groups"}},
		{inventory.Defaults{}, defaultsBlock, nil},
		{inventory.Host{}, hostBlock, []string{"Name", "DeclRange", "Groups"}},
		{inventory.Group{}, groupBlock, []string{"Name", "DeclRange"}},
	}
	for _, c := range cases {
		ty := reflect.TypeOf(c.value)
		documented := map[string]bool{}
		for _, a := range c.block.attrs {
			documented[a.name] = true
		}
		for _, b := range c.block.blocks {
			documented[b.typ] = true
		}
		for i := range ty.NumField() {
			f := ty.Field(i)
			if !f.IsExported() || slices.Contains(c.notFromHCL, f.Name) {
				continue
			}
			if name := docsSnakeCase(f.Name); !documented[name] {
				t.Errorf("%s.%s: no argument or block %q is documented (docs_gen.go)", ty, f.Name, name)
			}
		}
	}
}

func TestEveryModuleAndFunctionIsDescribed(t *testing.T) {
	if err := checkDescribed("module", modules.Names(), moduleDocs); err != nil {
		t.Error(err)
	}
	if err := checkDescribed("function", funcNames(), funcDocs); err != nil {
		t.Error(err)
	}
	for name, d := range moduleDocs {
		if d.summary == "" {
			t.Errorf("module %s: empty description", name)
		}
	}
	for name, d := range funcDocs {
		if d == "" || strings.Contains(d, "\n") {
			t.Errorf("function %s: the description is not one line: %q", name, d)
		}
	}
}

// The check above finds both kinds of drift, and so does the generator.
func TestUndescribedNamesFailTheGenerator(t *testing.T) {
	names := funcNames()
	var ue *undocumentedError
	err := checkDescribed("function", append(slices.Clone(names), "nosuchfunc"), funcDocs)
	if !errors.As(err, &ue) || !slices.Equal(ue.Missing, []string{"nosuchfunc"}) || len(ue.Stale) > 0 {
		t.Errorf("a function without a description: got %v", err)
	}
	err = checkDescribed("function", names[1:], funcDocs)
	if !errors.As(err, &ue) || !slices.Equal(ue.Stale, names[:1]) || len(ue.Missing) > 0 {
		t.Errorf("a description of a function that does not exist: got %v", err)
	}
	if _, err := languagePage(append(slices.Clone(names), "nosuchfunc"), modules.Names()); err == nil {
		t.Error("the language page was generated with an undescribed function")
	}
	specs := modules.Specs()
	specs["nosuchmodule"] = &config.ModuleSpec{Name: "nosuchmodule"}
	if _, err := modulesPage(specs); err == nil || !strings.Contains(err.Error(), "nosuchmodule") {
		t.Errorf("the module page was generated with an undescribed module: %v", err)
	}
}

func TestEveryModuleArgumentHasADoc(t *testing.T) {
	for name, spec := range modules.Specs() {
		for _, a := range spec.Args {
			if strings.TrimSpace(a.Doc) == "" {
				t.Errorf("module %s: argument %s has no Doc", name, a.Name)
			}
		}
	}
}

// A module documented as deploy-host-only does refuse any other host.
func TestDeployHostModulesRefuseOtherHosts(t *testing.T) {
	for _, name := range modules.Names() {
		if !moduleDocs[name].deployHost {
			continue
		}
		m, _ := modules.Lookup(name)
		call := &modules.Call{
			Target: &modules.Target{Name: "n1"}, Args: modules.Args{}, Task: &config.Task{Module: name},
			Redact: func(s string) string { return s },
		}
		_, err := m.Run(context.Background(), call)
		if err == nil || !strings.Contains(err.Error(), "not the deploy host") {
			t.Errorf("module %s is documented as deploy host only but on n1 gave %v", name, err)
		}
	}
}

// A role's page shows what its source says: the header comment, every variable with its
// default as written, every task and handler.
func TestRolePagesShowTheRoleSource(t *testing.T) {
	pages, err := rolePages()
	if err != nil {
		t.Fatal(err)
	}
	loader := config.NewLoader(modules.Specs(), config.RoleSource{Embedded: roles.FS})
	names := embeddedRoleNames()
	if len(names) == 0 {
		t.Fatal("no embedded roles")
	}
	for _, name := range names {
		page := string(pages[name+".md"])
		r, diags := loader.LoadRole(name, hcl.Range{})
		if diags.HasErrors() {
			t.Fatalf("role %s: %s", name, diagText(diags))
		}
		var want []string
		if h := roleHeader(name); len(h) > 0 {
			want = append(want, h[0])
		}
		for _, v := range r.VarOrder {
			want = append(want, "| `"+v+"` |")
		}
		for _, tk := range append(slices.Clone(r.Tasks), r.Handlers...) {
			want = append(want, ". "+mdCode(tk.Name)+": module `"+tk.Module+"`")
		}
		for _, w := range want {
			if !strings.Contains(page, w) {
				t.Errorf("roles/%s.md lacks %q", name, w)
			}
		}
		if !strings.Contains(string(pages[rolesIndex]), "("+name+".md)") {
			t.Errorf("roles/%s does not link %s.md", rolesIndex, name)
		}
	}
}

func TestRoleHeaderAndDefaults(t *testing.T) {
	header := roleHeader("etcd")
	if len(header) == 0 || !strings.HasPrefix(header[0], "etcd: ") {
		t.Fatalf("etcd header: %q", header)
	}
	pages, err := rolePages()
	if err != nil {
		t.Fatal(err)
	}
	// Variables every role shares are on the cluster page, once.
	cluster := string(pages[clusterPage])
	for _, want := range []string{
		"| `etcd_client_port` | `number` | `2379` |",
		"| `pki_dir` | `string` | `\"${kplay.state_dir}/pki\"` |",
	} {
		if !strings.Contains(cluster, want) {
			t.Errorf("roles/%s lacks %q", clusterPage, want)
		}
	}
	page := string(pages["etcd.md"])
	for _, want := range []string{
		"| `etcdctl` | `list(string)` | see below |",
		"```hcl\n[\n  \"${var.bin_dir}/etcdctl\",",
		"- `etcd_initial_cluster_state`: etcd_initial_cluster_state is \"new\" or \"existing\".",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("roles/etcd.md lacks %q", want)
		}
	}
}

func TestMarkdownQuoting(t *testing.T) {
	for in, want := range map[string]string{
		"a":      "`a`",
		"a`b":    "``a`b``",
		"`a":     "`` `a ``",
		"x || y": "`x || y`",
	} {
		if got := mdCode(in); got != want {
			t.Errorf("mdCode(%q) = %q, want %q", in, got, want)
		}
	}
	if got := mdCell("`a | b`\nc"); got != "`a \\| b` c" {
		t.Errorf("mdCell: %q", got)
	}
}

func runDocsCommand(t *testing.T, dir string) {
	t.Helper()
	root := newRoot()
	root.SetArgs([]string{"docs", dir})
	root.SetOut(io.Discard)
	root.SetErr(io.Discard)
	if err := root.Execute(); err != nil {
		t.Fatalf("kplay docs %s: %v", dir, err)
	}
}

// generatedTree reads the pages the generator owns below dir, by '/'-separated name.
func generatedTree(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	names := []string{"modules.md", "language.md"}
	roleFiles, err := filepath.Glob(filepath.Join(dir, "roles", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range roleFiles {
		names = append(names, "roles/"+filepath.Base(p))
	}
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(n)))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		out[n] = b
	}
	return out
}

func firstDiffLine(a, b []byte) int {
	la, lb := strings.Split(string(a), "\n"), strings.Split(string(b), "\n")
	for i := range min(len(la), len(lb)) {
		if la[i] != lb[i] {
			return i + 1
		}
	}
	return min(len(la), len(lb)) + 1
}

// loadExample loads src as a file of the given kind through kplay's own loaders.
func loadExample(t *testing.T, kind, src string) hcl.Diagnostics {
	t.Helper()
	dir := t.TempDir()
	switch kind {
	case "playbook":
		p := filepath.Join(dir, "site.hcl")
		writeDocsFile(t, p, src)
		loader := config.NewLoader(modules.Specs(), config.RoleSource{Embedded: roles.FS})
		_, diags := loader.LoadPlaybook(p)
		return diags
	case "role":
		writeDocsFile(t, filepath.Join(dir, "roles", "example", "main.hcl"), src)
		loader := config.NewLoader(modules.Specs(), config.RoleSource{Dir: filepath.Join(dir, "roles")})
		_, diags := loader.LoadRole("example", hcl.Range{})
		return diags
	case "inventory":
		p := filepath.Join(dir, "hosts.hcl")
		writeDocsFile(t, p, src)
		_, diags := inventory.Load(config.NewParser(), p)
		return diags
	}
	t.Fatalf("no loader for %q", kind)
	return nil
}

func hasUnsupported(diags hcl.Diagnostics, line int) bool {
	for _, d := range diags {
		if strings.HasPrefix(d.Summary, "Unsupported") && d.Subject != nil && d.Subject.Start.Line == line {
			return true
		}
	}
	return false
}

// lineStarting returns the 1-based number of the only line whose first word is word, or 0.
func docsLineStarting(src, word string) int {
	found := 0
	for i, l := range strings.Split(src, "\n") {
		if f := strings.Fields(l); len(f) > 0 && f[0] == word {
			if found != 0 {
				return 0
			}
			found = i + 1
		}
	}
	return found
}

func langFileBody(t *testing.T, kind string) *langBlock {
	for _, f := range langFiles {
		if f.kind == kind {
			return f.body
		}
	}
	t.Fatalf("no %s in langFiles", kind)
	return nil
}

func docsSnakeCase(s string) string {
	var b strings.Builder
	for i, r := range s {
		if unicode.IsUpper(r) {
			if i > 0 {
				b.WriteByte('_')
			}
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}

func writeDocsFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
