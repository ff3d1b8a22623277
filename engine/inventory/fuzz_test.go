package inventory

import (
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/kplay-dev/kplay/engine/config"
	"github.com/kplay-dev/kplay/engine/output"
)

// FuzzInventory loads arbitrary bytes as hosts.hcl. A bad inventory must come back as
// diagnostics that render; a good one must hold together: unique host names, the implicit
// all group with every host in order, and groups that name only known hosts.
func FuzzInventory(f *testing.F) {
	f.Add([]byte(clusterHosts))
	path := filepath.Join(f.TempDir(), "hosts.hcl")
	f.Fuzz(func(t *testing.T, src []byte) {
		if err := os.WriteFile(path, src, 0o644); err != nil {
			t.Fatal(err)
		}
		p := config.NewParser()
		inv, diags := Load(p, path)
		if inv == nil {
			t.Fatal("Load returned a nil inventory")
		}
		output.Diagnostics(io.Discard, p.Files(), diags, false)
		if diags.HasErrors() {
			return
		}
		checkInventory(t, inv)
	})
}

func checkInventory(t *testing.T, inv *Inventory) {
	t.Helper()
	seen := map[string]bool{}
	for _, h := range inv.Hosts {
		if seen[h.Name] || inv.Host(h.Name) != h {
			t.Fatalf("host %q is listed twice or not found by name", h.Name)
		}
		seen[h.Name] = true
	}
	all := inv.Group("all")
	if all == nil || !slices.Equal(all.Hosts, inv.HostNames()) {
		t.Fatalf("group all = %v, want every host in order %v", all, inv.HostNames())
	}
	for _, name := range inv.GroupNames() {
		for _, h := range inv.GroupHosts(name) {
			if !seen[h.Name] {
				t.Fatalf("group %q has host %q the inventory does not", name, h.Name)
			}
		}
	}
	if hosts, err := inv.Resolve("all"); err != nil || len(hosts) != len(inv.Hosts) {
		t.Fatalf("Resolve(all) = %d hosts, %v; want %d", len(hosts), err, len(inv.Hosts))
	}
}

// FuzzHostPattern resolves arbitrary patterns on a fixed inventory. Whatever the pattern,
// Resolve must not panic, and what it selects must be hosts of the inventory, in inventory
// order, each once; an error selects nothing.
func FuzzHostPattern(f *testing.F) {
	for _, p := range []string{"all", "*", "etcd", "n1,n2", "etcd:&kube_node", "!n3", "n[13]", "k8s_*:!deploy", "etcd,!kube_master,&kube_node", "[", "&", "!", ",:,", "nodes"} {
		f.Add(p)
	}
	path := filepath.Join(f.TempDir(), "hosts.hcl")
	if err := os.WriteFile(path, []byte(clusterHosts), 0o644); err != nil {
		f.Fatal(err)
	}
	inv, diags := Load(config.NewParser(), path)
	if diags.HasErrors() {
		f.Fatal(diags.Error())
	}
	order := map[*Host]int{}
	for i, h := range inv.Hosts {
		order[h] = i
	}
	f.Fuzz(func(t *testing.T, pattern string) {
		hosts, err := inv.Resolve(pattern)
		if err != nil {
			if hosts != nil {
				t.Fatalf("Resolve(%q) failed (%v) but selected %d hosts", pattern, err, len(hosts))
			}
			return
		}
		last := -1
		for _, h := range hosts {
			i, ok := order[h]
			if !ok {
				t.Fatalf("Resolve(%q) selected %v, not a host of the inventory", pattern, h)
			}
			if i <= last {
				t.Fatalf("Resolve(%q) = %s: not in inventory order or a host twice", pattern, names(hosts))
			}
			last = i
		}
	})
}
