package main

import (
	"bytes"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2/hclwrite"

	"github.com/kplay-dev/kplay/engine/config"
	"github.com/kplay-dev/kplay/engine/inventory"
)

func TestInitWritesAValidStarter(t *testing.T) {
	dir := t.TempDir()
	res := runKplay(t, dir, "init", "c")
	wantExit(t, res, exitOK)
	for _, want := range []string{"wrote c/hosts.hcl\n", "wrote c/site.hcl\n", "kplay validate c/site.hcl -i c/hosts.hcl"} {
		if !strings.Contains(res.stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, res.stdout)
		}
	}

	val := runKplay(t, dir, "validate", "c/site.hcl", "-i", "c/hosts.hcl")
	wantExit(t, val, exitOK)
	if !strings.Contains(val.stdout, "c/site.hcl is valid") {
		t.Errorf("validate: %s", val.stdout)
	}
	for _, name := range initNames {
		src, err := os.ReadFile(filepath.Join(dir, "c", name))
		if err != nil {
			t.Fatal(err)
		}
		if got := hclwrite.Format(src); !bytes.Equal(got, src) {
			t.Errorf("%s is not canonically formatted", name)
		}
	}
}

// TestInitInventoryIsTheReferenceTopology reads the written inventory back: a local deploy
// host, three ssh nodes each in the three cluster groups, connection defaults and stage_dir.
func TestInitInventoryIsTheReferenceTopology(t *testing.T) {
	dir := t.TempDir()
	wantExit(t, runKplay(t, dir, "init", dir), exitOK)
	inv, diags := inventory.Load(config.NewParser(), filepath.Join(dir, "hosts.hcl"))
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	var names []string
	for _, h := range inv.Hosts {
		names = append(names, h.Name)
		if local := h.Name == "deploy"; h.Local() != local {
			t.Errorf("host %s: local = %v, want %v", h.Name, h.Local(), local)
		}
		if !h.Local() && (h.Address == h.Name || h.Address == "") {
			t.Errorf("host %s has no placeholder address", h.Name)
		}
	}
	if want := []string{"deploy", "n1", "n2", "n3"}; !slices.Equal(names, want) {
		t.Errorf("hosts = %v, want %v", names, want)
	}
	for _, g := range []string{"etcd", "kube_master", "kube_node"} {
		if grp := inv.Group(g); grp == nil || !slices.Equal(grp.Hosts, []string{"n1", "n2", "n3"}) {
			t.Errorf("group %s = %+v, want n1, n2, n3", g, grp)
		}
	}
	d := inv.Defaults
	if d.User == "" || len(d.KeyFiles) != 1 || d.KnownHosts == "" {
		t.Errorf("defaults = %+v, want user, key_files and known_hosts", d)
	}
	if _, ok := inv.Vars["stage_dir"]; !ok {
		t.Errorf("vars lack stage_dir: %v", inv.Vars)
	}
}

// TestInitSiteIsTheRepositorySite keeps the embedded copy of site.hcl in step with the
// repository's.
func TestInitSiteIsTheRepositorySite(t *testing.T) {
	repo, err := os.ReadFile(filepath.Join("..", "..", "site.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	embedded, err := initFiles.ReadFile("initdata/site.hcl")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(repo, embedded) {
		t.Error("cmd/kplay/initdata/site.hcl differs from site.hcl: cp site.hcl cmd/kplay/initdata/")
	}
}

func TestInitRefusesToOverwrite(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"c/site.hcl": "# mine\n"})
	res := runKplay(t, dir, "init", "c")
	wantExit(t, res, exitBadOptions)
	if !strings.Contains(res.stderr, "c/site.hcl already exists") || !strings.Contains(res.stderr, "--force") {
		t.Errorf("stderr = %q, want the existing file named and --force suggested", res.stderr)
	}
	if got := readTree(t, filepath.Join(dir, "c")); !maps.Equal(got, map[string]string{"site.hcl": "# mine\n"}) {
		t.Errorf("a refused init wrote files: %v", got)
	}

	wantExit(t, runKplay(t, dir, "init", "--force", "c"), exitOK)
	want, _ := initFiles.ReadFile("initdata/site.hcl")
	if got, _ := os.ReadFile(filepath.Join(dir, "c", "site.hcl")); !bytes.Equal(got, want) {
		t.Errorf("--force left site.hcl as %q", got)
	}
}
