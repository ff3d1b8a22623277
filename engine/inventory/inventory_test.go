package inventory

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"

	"github.com/kplay-dev/kplay/engine/config"
)

const clusterHosts = `
host "n1" {
  address = "10.0.0.11"
}
host "n2" {}
host "n3" {}
host "deploy" {
  connection = "local"
}
group "etcd" {
  hosts = ["n1", "n2", "n3"]
}
group "kube_master" {
  hosts = ["n1"]
}
group "kube_node" {
  hosts = ["n2", "n3"]
}
group "k8s_cluster" {
  children = ["kube_master", "kube_node"]
}
group "cluster" {
  children = ["k8s_cluster"]
}
`

// load writes src as hosts.hcl in a temporary directory and loads it, failing the test on
// any error diagnostic.
func load(t *testing.T, src string) *Inventory {
	t.Helper()
	inv, diags := loadDiags(t, src)
	if diags.HasErrors() {
		t.Fatalf("Load: %s", diags.Error())
	}
	return inv
}

func loadDiags(t *testing.T, src string) (*Inventory, hcl.Diagnostics) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "hosts.hcl")
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return Load(config.NewParser(), path)
}

func names(hosts []*Host) string {
	var out []string
	for _, h := range hosts {
		out = append(out, h.Name)
	}
	return strings.Join(out, ",")
}

func TestResolvePatterns(t *testing.T) {
	inv := load(t, clusterHosts)
	tests := []struct {
		pattern string
		want    string
	}{
		{"all", "n1,n2,n3,deploy"},
		{"*", "n1,n2,n3,deploy"},
		{"etcd", "n1,n2,n3"},
		{"n2", "n2"},
		{"deploy", "deploy"},
		{"n*", "n1,n2,n3"},
		{"n[13]", "n1,n3"},
		{"kube_*", "n1,n2,n3"}, // a glob matches group names too
		{"k8s_cluster", "n1,n2,n3"},
		{"cluster", "n1,n2,n3"}, // grandchildren count
		{"kube_master,deploy", "n1,deploy"},
		{"kube_node:kube_master", "n1,n2,n3"}, // result in inventory order, not pattern order
		{"n3,n1", "n1,n3"},
		{"n1,n1", "n1"},
		{"etcd:&kube_node", "n2,n3"},
		{"etcd,&kube_node,&n3", "n3"},
		{"all:!etcd", "deploy"},
		{"etcd:!n2", "n1,n3"},
		{"etcd:!kube_node:&kube_node", ""}, // '!' applies after '&' whatever the order
		{"etcd:!n*", ""},
		{" etcd , !n1 ", "n2,n3"},
	}
	for _, tt := range tests {
		t.Run(tt.pattern, func(t *testing.T) {
			got, err := inv.Resolve(tt.pattern)
			if err != nil {
				t.Fatalf("Resolve(%q): %v", tt.pattern, err)
			}
			if names(got) != tt.want {
				t.Errorf("Resolve(%q) = %q, want %q", tt.pattern, names(got), tt.want)
			}
		})
	}
}

// A pattern made only of exclusions or intersections starts from every host, as in
// Ansible: `--limit '!n3'` means every host but n3.
func TestResolveOnlyExclusionsStartsFromAll(t *testing.T) {
	inv := load(t, clusterHosts)
	got, err := inv.Resolve("!n3")
	if err != nil {
		t.Fatal(err)
	}
	if names(got) != "n1,n2,deploy" {
		t.Fatalf("Resolve(%q) = %q, want %q (a pattern with no plain term selects nothing; "+
			"see the report)", "!n3", names(got), "n1,n2,deploy")
	}
}

func TestResolveErrors(t *testing.T) {
	inv := load(t, clusterHosts)
	tests := []struct {
		pattern string
		want    []string
	}{
		{"etc", []string{`no host or group named "etc"`, `did you mean "etcd"?`}},
		{"etcd:!n4", []string{`"n4"`, `did you mean "n1"?`}},
		{"zzzzzz", []string{`no host or group named "zzzzzz"`}},
		{"", []string{"empty host pattern"}},
		{",:", []string{"empty host pattern"}},
		{"etcd:!", []string{"empty term"}},
		{"n[", []string{`host pattern "n["`}},
	}
	for _, tt := range tests {
		t.Run(tt.pattern, func(t *testing.T) {
			hosts, err := inv.Resolve(tt.pattern)
			if err == nil {
				t.Fatalf("Resolve(%q) = %q, want an error", tt.pattern, names(hosts))
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
	if _, err := inv.Resolve("zzzzzz"); strings.Contains(err.Error(), "did you mean") {
		t.Errorf("a far-off name got a suggestion: %v", err)
	}
}

func groupNamesOf(h *Host) string {
	var out []string
	for _, g := range h.Groups {
		out = append(out, g.Name)
	}
	return strings.Join(out, ",")
}

func TestHostGroupsThroughChildrenParentsFirst(t *testing.T) {
	inv := load(t, clusterHosts)
	tests := []struct{ host, want string }{
		{"n1", "all,cluster,etcd,k8s_cluster,kube_master"},
		{"n2", "all,cluster,etcd,k8s_cluster,kube_node"},
		{"deploy", "all"},
	}
	for _, tt := range tests {
		if got := groupNamesOf(inv.Host(tt.host)); got != tt.want {
			t.Errorf("groups of %s = %q, want %q", tt.host, got, tt.want)
		}
	}
	if got := names(inv.GroupHosts("k8s_cluster")); got != "n1,n2,n3" {
		t.Errorf("GroupHosts(k8s_cluster) = %q", got)
	}
	if inv.GroupHosts("nope") != nil {
		t.Error("GroupHosts of an unknown group is not nil")
	}
}

// A group listed as a child of a group that is itself declared later still sorts after it:
// depth, not declaration order, decides.
func TestGroupOrderIgnoresDeclarationOrder(t *testing.T) {
	inv := load(t, `
host "a" {}
group "leaf" {
  hosts = ["a"]
}
group "mid" {
  children = ["leaf"]
}
group "top" {
  children = ["mid"]
}
group "also_top" {
  children = ["leaf"]
}
`)
	if got := groupNamesOf(inv.Host("a")); got != "all,also_top,top,mid,leaf" {
		t.Errorf("groups of a = %q, want all,also_top,top,mid,leaf", got)
	}
}

func TestImplicitAllGroup(t *testing.T) {
	inv := load(t, `
vars = { x = 1 }
host "a" {}
host "b" {}
group "all" {
  vars = { from_all = true }
}
`)
	all := inv.Group("all")
	if all == nil {
		t.Fatal("no group all")
	}
	if got := names(inv.GroupHosts("all")); got != "a,b" {
		t.Errorf("GroupHosts(all) = %q", got)
	}
	if _, ok := all.Vars["from_all"]; !ok {
		t.Error(`a group "all" block did not add its vars to the implicit group`)
	}
	if len(inv.Groups) != 1 {
		t.Errorf("a group \"all\" block made a second group: %d groups", len(inv.Groups))
	}
	if got := inv.Host("a").Groups; len(got) != 1 || got[0] != all {
		t.Errorf("groups of a = %v, want [all]", groupNamesOf(inv.Host("a")))
	}
}

func TestHostDefaults(t *testing.T) {
	inv := load(t, `
defaults {
  user = "admin"
  port = 2222
  key_files = ["keys/id"]
}
host "a" {}
host "b" {
  user = "root"
  port = 22
  address = "192.0.2.2"
}
`)
	a, b := inv.Host("a"), inv.Host("b")
	if a.User != "admin" || a.Port != 2222 || a.Address != "a" || a.Connection != "ssh" {
		t.Errorf("a = %+v", a)
	}
	if b.User != "root" || b.Port != 22 || b.Address != "192.0.2.2" {
		t.Errorf("b = %+v", b)
	}
	if want := filepath.Join(inv.Dir, "keys/id"); len(a.KeyFiles) != 1 || a.KeyFiles[0] != want {
		t.Errorf("key files = %v, want [%s]", a.KeyFiles, want)
	}
	if inv.StateDir != filepath.Join(inv.Dir, "state") {
		t.Errorf("StateDir = %q", inv.StateDir)
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name, src string
		want      []string
	}{
		{"unknown child", `
group "a" {
  children = ["etdc"]
}
group "etcd" {}
`, []string{"Unknown group", `Did you mean "etcd"?`}},
		{"unknown host", `
host "node1" {}
group "a" {
  hosts = ["node2"]
}
`, []string{"Unknown host", `"node2"`, `Did you mean "node1"?`}},
		{"cycle", `
group "a" {
  children = ["b"]
}
group "b" {
  children = ["a"]
}
`, []string{"Cycle in group children"}},
		{"duplicate host", `
host "a" {}
host "a" {}
`, []string{"Duplicate host"}},
		{"host and group share a name", `
host "a" {}
group "a" {}
`, []string{"Duplicate name"}},
		{"bad connection", `
host "a" {
  connection = "winrm"
}
`, []string{"Invalid connection"}},
		{"bad port", `
host "a" {
  port = 70000
}
`, []string{"Invalid port"}},
		{"bad name", `host "-a" {}`, []string{"Invalid host name"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, diags := loadDiags(t, tt.src)
			if !diags.HasErrors() {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(diags.Error(), w) {
					t.Errorf("diagnostics %q do not contain %q", diags.Error(), w)
				}
			}
		})
	}
}

// Key and known_hosts paths: "~/" is the user's home, a relative path the inventory's
// directory.
func TestPathsInInventory(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	dir := t.TempDir()
	p := filepath.Join(dir, "hosts.hcl")
	os.WriteFile(p, []byte(`defaults {
  key_files   = ["~/.ssh/id_ed25519", "keys/lab"]
  known_hosts = "~/.ssh/known_hosts"
}
host "n1" {}
`), 0o644)
	inv, diags := Load(config.NewParser(), p)
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	want := []string{filepath.Join(home, ".ssh/id_ed25519"), filepath.Join(dir, "keys/lab")}
	if got := inv.Host("n1").KeyFiles; strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("key files %v, want %v", got, want)
	}
	if got := inv.Defaults.KnownHosts; got != filepath.Join(home, ".ssh/known_hosts") {
		t.Errorf("known_hosts %s", got)
	}
}

// jump names a host of the inventory; the defaults' jump applies to every SSH host but
// the jump host itself; unknown hosts, the deploy host and cycles are refused.
func TestJumpHosts(t *testing.T) {
	load := func(src string) (*Inventory, string) {
		p := filepath.Join(t.TempDir(), "hosts.hcl")
		os.WriteFile(p, []byte(src), 0o644)
		inv, diags := Load(config.NewParser(), p)
		return inv, diags.Error()
	}
	inv, errs := load(`defaults {
  jump = "bastion"
}
host "bastion" {}
host "n1" {}
host "n2" {
  jump = ""
}
host "deploy" {
  connection = "local"
}
`)
	if errs != "no diagnostics" {
		t.Fatal(errs)
	}
	for name, want := range map[string]string{"bastion": "", "n1": "bastion", "n2": ""} {
		if got := inv.Host(name).Jump; got != want {
			t.Errorf("%s jumps through %q, want %q", name, got, want)
		}
	}
	for src, want := range map[string]string{
		"host \"n1\" {\n  jump = \"bastoin\"\n}\nhost \"bastion\" {}\n":                 `Did you mean "bastion"`,
		"host \"n1\" {\n  jump = \"n2\"\n}\nhost \"n2\" {\n  jump = \"n1\"\n}\n":        "Cycle of jump hosts",
		"host \"n1\" {\n  jump = \"d\"\n}\nhost \"d\" {\n  connection = \"local\"\n}\n": "Invalid jump host",
	} {
		if _, errs := load(src); !strings.Contains(errs, want) {
			t.Errorf("inventory\n%s\ngave %q, want %q", src, errs, want)
		}
	}
}

// Explicit tells a setting the inventory wrote, in the host's block or the defaults block,
// from kplay's built-in default of the same value, so that ~/.ssh/config can fill only the
// latter.
func TestExplicitSettings(t *testing.T) {
	inv := load(t, `
defaults {
  port = 22
  jump = "bastion"
}
host "bastion" {}
host "a" {}
host "b" {
  address   = "192.0.2.2"
  user      = "root"
  key_files = []
  jump      = ""
}
`)
	tests := map[string]Explicit{
		"bastion": {Port: true},
		"a":       {Port: true, Jump: true},
		"b":       {Address: true, User: true, Port: true, KeyFiles: true, Jump: true},
	}
	for name, want := range tests {
		if got := inv.Host(name).Explicit(); got != want {
			t.Errorf("%s: %+v, want %+v", name, got, want)
		}
	}
	if a := inv.Host("a"); a.User != "root" || a.Port != 22 || a.Address != "a" {
		t.Errorf("a keeps the built-in defaults for display: %+v", a)
	}
	if got, want := inv.Defaults.Explicit(), (Explicit{Port: true, Jump: true}); got != want {
		t.Errorf("defaults: %+v, want %+v", got, want)
	}
	if got := load(t, `host "c" {}`).Host("c").Explicit(); got != (Explicit{}) {
		t.Errorf("a host without settings: %+v", got)
	}
}

// ssh_config defaults to ~/.ssh/config, is relative to the inventory file, and "" turns
// it off.
func TestSSHConfigPath(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	if got := load(t, `host "a" {}`).Defaults.SshConfig; got != filepath.Join(home, ".ssh/config") {
		t.Errorf("default: %q", got)
	}
	inv := load(t, "defaults {\n  ssh_config = \"ssh/config\"\n}\n")
	if got := inv.Defaults.SshConfig; got != filepath.Join(inv.Dir, "ssh/config") {
		t.Errorf("relative: %q", got)
	}
	if got := load(t, "defaults {\n  ssh_config = \"\"\n}\n").Defaults.SshConfig; got != "" {
		t.Errorf("turned off: %q", got)
	}
}
