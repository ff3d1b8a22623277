package main

import (
	"slices"
	"strings"
	"testing"
)

// nestedHosts has a group of groups, a host on its own port, a host in no group and an
// empty group.
const nestedHosts = `
host "deploy" {
  connection = "local"
}

host "n1" {
  address = "10.0.0.11"
}

host "n2" {
  address = "10.0.0.12"
  port    = 2222
}

host "n3" {}

group "etcd" {
  hosts = ["n1"]
}

group "k8s_cluster" {
  children = ["kube_master", "kube_node"]
}

group "kube_master" {
  hosts = ["n1"]
}

group "kube_node" {
  hosts    = ["n2", "n3"]
  children = ["gpu"]
}

group "gpu" {}
`

func TestInventoryList(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"hosts.hcl": nestedHosts})
	res := runKplay(t, dir, "inventory", "list", "-i", "hosts.hcl")
	wantExit(t, res, exitOK)
	want := `@all
  deploy          local
  @etcd
    n1            10.0.0.11
  @k8s_cluster
    @kube_master
      n1          10.0.0.11
    @kube_node
      n2          10.0.0.12:2222
      n3          n3
      @gpu
`
	if res.stdout != want {
		t.Errorf("got:\n%s\nwant:\n%s", res.stdout, want)
	}
}

func TestInventoryGraph(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"hosts.hcl": nestedHosts})
	res := runKplay(t, dir, "inventory", "graph", "-i", "hosts.hcl")
	wantExit(t, res, exitOK)
	out := res.stdout
	if !strings.HasPrefix(out, "digraph inventory {\n") || !strings.HasSuffix(out, "\n}\n") {
		t.Fatalf("not a dot digraph:\n%s", out)
	}
	var edges []string
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "->") {
			edges = append(edges, strings.TrimSpace(l))
		}
	}
	want := []string{
		`"all" -> "etcd";`, `"all" -> "k8s_cluster";`, `"all" -> "deploy";`,
		`"etcd" -> "n1";`,
		`"k8s_cluster" -> "kube_master";`, `"k8s_cluster" -> "kube_node";`,
		`"kube_master" -> "n1";`,
		`"kube_node" -> "gpu";`, `"kube_node" -> "n2";`, `"kube_node" -> "n3";`,
	}
	slices.Sort(edges)
	slices.Sort(want)
	if !slices.Equal(edges, want) {
		t.Errorf("edges:\n%s\nwant:\n%s", strings.Join(edges, "\n"), strings.Join(want, "\n"))
	}
	for _, node := range []string{`"gpu";`, `"n2" [shape=ellipse, label="n2\n10.0.0.12:2222"];`} {
		if !strings.Contains(out, "\n  "+node+"\n") {
			t.Errorf("no node line %s:\n%s", node, out)
		}
	}
}

func TestInventoryErrors(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"hosts.hcl": "host \"n1\" {}\n\ngroup \"etcd\" {\n  hosts = [\"n9\"]\n}\n"})
	for _, verb := range []string{"list", "graph"} {
		res := runKplay(t, dir, "inventory", verb, "-i", "hosts.hcl")
		wantExit(t, res, exitInvalid)
		d := parseDiagnostics(res.stderr)
		if len(d) != 1 || d[0].summary != "Unknown host" || d[0].file != "hosts.hcl" {
			t.Errorf("%s: diagnostics %+v, want one Unknown host in hosts.hcl\n%s", verb, d, res.stderr)
		}
		if res.stdout != "" {
			t.Errorf("%s printed %q for an invalid inventory", verb, res.stdout)
		}

		res = runKplay(t, dir, "inventory", verb)
		wantExit(t, res, exitBadOptions)
		if !strings.Contains(res.stderr, "pass -i hosts.hcl") {
			t.Errorf("%s without -i: %q", verb, res.stderr)
		}
	}
}
