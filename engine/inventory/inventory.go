// Package inventory owns the hosts and groups of an inventory file: loading them, working
// out which groups a host belongs to (children included), and resolving host patterns such
// as "etcd:!n3" for plays and --limit. Variable values stay as config.Values with their
// source ranges; merging them per host is package eval's business.
package inventory

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/kplay-dev/kplay/engine/config"
)

// Inventory is every host and group of one inventory file.
type Inventory struct {
	Path string
	// Dir is the directory of the inventory file; relative paths in it start there.
	Dir string
	// StateDir holds the cluster's state: CA and keys, kubeconfigs, fact cache.
	StateDir string
	Vars     config.Values
	Defaults Defaults
	Hosts    []*Host
	Groups   []*Group

	hostByName map[string]*Host
	// defaultsJumpRange is where the defaults block names its jump host, for messages.
	defaultsJumpRange hcl.Range
	groupByName       map[string]*Group
}

// Defaults are connection settings every host inherits unless it sets its own. User and
// Port hold kplay's built-in defaults when the block leaves them out; Explicit tells the
// two apart.
type Defaults struct {
	User       string
	Port       int
	KeyFiles   []string
	KnownHosts string
	Become     bool
	// Jump names the host every SSH host is reached through, unless it sets its own.
	Jump string
	// SshConfig is the OpenSSH client configuration file that fills in what the inventory
	// leaves unset; "" when the inventory turns it off. The field is spelled as its
	// attribute, ssh_config, because the language docs are checked against field names.
	SshConfig string

	explicit Explicit
}

// Explicit says which connection settings the inventory wrote rather than left to kplay's
// built-in defaults (user root, port 22, the host's name as its address). Only settings
// left unwritten are taken from the OpenSSH client configuration.
type Explicit struct {
	Address, User, Port, KeyFiles bool
	// Jump is true when the inventory chose how to reach the host: through a jump host,
	// or directly with jump = "".
	Jump bool
}

// Explicit says which settings the defaults block wrote.
func (d Defaults) Explicit() Explicit { return d.explicit }

// Host is one machine.
type Host struct {
	Name       string
	Address    string
	Port       int
	User       string
	KeyFiles   []string
	Connection string // "ssh" or "local"
	Become     bool
	// Jump names another host of the inventory to reach this one through (ssh's
	// ProxyJump), "" for a direct connection.
	Jump      string
	jumpRange hcl.Range
	Vars      config.Values
	DeclRange hcl.Range
	// Groups lists every group the host is in, directly or through children, ordered
	// as their variables apply: parents before children, then by name. "all" is first.
	Groups []*Group

	explicit Explicit
}

// Explicit says which of the host's connection settings the inventory wrote, in the
// host's block or in the defaults block. The others hold kplay's built-in defaults.
func (h *Host) Explicit() Explicit { return h.explicit }

// Endpoint is where kplay reaches the host, address and port: cached facts belong to it,
// so moving a host to another address or port gathers them again.
func (h *Host) Endpoint() string {
	if h.Local() {
		return "local"
	}
	return net.JoinHostPort(h.Address, strconv.Itoa(h.Port))
}

// Local reports whether kplay reaches the host without SSH: it is the deploy host.
func (h *Host) Local() bool { return h.Connection == "local" }

// Group is a named set of hosts and child groups.
type Group struct {
	Name      string
	Hosts     []string
	Children  []string
	Vars      config.Values
	DeclRange hcl.Range
	depth     int
	// hostRanges and childRanges are where each name of Hosts and Children is written.
	hostRanges, childRanges []hcl.Range
}

// Host returns the named host, or nil.
func (inv *Inventory) Host(name string) *Host { return inv.hostByName[name] }

// Group returns the named group, or nil.
func (inv *Inventory) Group(name string) *Group { return inv.groupByName[name] }

// GroupNames returns the name of every group in inventory order, "all" first.
func (inv *Inventory) GroupNames() []string { return groupNames(inv) }

// HostNames returns the name of every host in inventory order.
func (inv *Inventory) HostNames() []string { return hostNames(inv) }

// GroupHosts returns the hosts of a group and of its children, in inventory order.
func (inv *Inventory) GroupHosts(name string) []*Host {
	g := inv.groupByName[name]
	if g == nil {
		return nil
	}
	var out []*Host
	for _, h := range inv.Hosts {
		for _, hg := range h.Groups {
			if hg == g {
				out = append(out, h)
				break
			}
		}
	}
	return out
}

// VarNames returns the name of every variable set anywhere in the inventory.
func (inv *Inventory) VarNames() map[string]bool {
	names := map[string]bool{}
	add := func(v config.Values) {
		for k := range v {
			names[k] = true
		}
	}
	add(inv.Vars)
	for _, g := range inv.Groups {
		add(g.Vars)
	}
	for _, h := range inv.Hosts {
		add(h.Vars)
	}
	return names
}

// resolvePath makes p relative to the inventory's directory.
// A leading "~/" means the home directory of the user running kplay, as in ssh's options.
func (inv *Inventory) resolvePath(p string) string {
	if rest, ok := strings.CutPrefix(p, "~/"); ok {
		if home, err := os.UserHomeDir(); err == nil {
			return filepath.Join(home, rest)
		}
	}
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(inv.Dir, p)
}

// link computes each host's groups, checking that every name refers to something and that
// children have no cycle.
// checkJumps makes sure every jump names an SSH host of the inventory and that no chain of
// jumps comes back to where it started.
func (inv *Inventory) checkJumps() hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, h := range inv.Hosts {
		if h.Jump == "" || h.Local() {
			continue
		}
		seen := map[string]bool{h.Name: true}
		chain := []string{h.Name}
		for at := h; at.Jump != ""; {
			next := inv.hostByName[at.Jump]
			switch {
			case next == nil:
				diags = append(diags, unknownRef("host", at.Jump, at.jumpRange, hostNames(inv)))
			case next.Local():
				diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid jump host",
					Detail: fmt.Sprintf("Host %q jumps through %q, the deploy host: connect directly instead.", at.Name, next.Name), Subject: at.jumpRange.Ptr()})
			case seen[next.Name]:
				diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Cycle of jump hosts",
					Detail:  fmt.Sprintf("The jump hosts go round in a circle: %s.", circle(chain, next.Name)),
					Subject: at.jumpRange.Ptr()})
			default:
				seen[next.Name] = true
				chain = append(chain, next.Name)
				at = next
				continue
			}
			break
		}
	}
	return dedupeDiags(diags)
}

// circle writes the cycle that chain ran into at name, starting from its first name in
// lexical order, so that every host on it reports the same circle.
func circle(chain []string, name string) string {
	cycle := chain[slices.Index(chain, name):]
	first := slices.Index(cycle, slices.Min(cycle))
	cycle = append(cycle[first:len(cycle):len(cycle)], cycle[:first]...)
	return strings.Join(append(cycle, cycle[0]), " → ")
}

func dedupeDiags(diags hcl.Diagnostics) hcl.Diagnostics {
	seen := map[string]bool{}
	var out hcl.Diagnostics
	for _, d := range diags {
		k := d.Summary + d.Detail
		if !seen[k] {
			seen[k] = true
			out = append(out, d)
		}
	}
	return out
}

func (inv *Inventory) link() hcl.Diagnostics {
	if diags := inv.checkMembers(); diags.HasErrors() {
		return diags
	}
	if d := inv.checkCycles(); d != nil {
		return hcl.Diagnostics{d}
	}
	for _, g := range inv.Groups {
		inv.depthOf(g)
	}
	all := inv.groupByName["all"]
	for _, h := range inv.Hosts {
		member := map[*Group]bool{all: true}
		for _, g := range inv.Groups {
			if contains(g.Hosts, h.Name) {
				inv.markParents(g, member)
			}
		}
		for g := range member {
			h.Groups = append(h.Groups, g)
		}
		sort.Slice(h.Groups, func(i, j int) bool {
			a, b := h.Groups[i], h.Groups[j]
			if a.depth != b.depth {
				return a.depth < b.depth
			}
			return a.Name < b.Name
		})
	}
	return nil
}

// checkMembers reports every name in a group's hosts or children that the inventory does
// not declare, citing the name itself.
func (inv *Inventory) checkMembers() hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, g := range inv.Groups {
		for i, c := range g.Children {
			if inv.groupByName[c] == nil {
				diags = append(diags, unknownRef("group", c, memberRange(g, g.childRanges, i), groupNames(inv)))
			}
		}
		for i, h := range g.Hosts {
			if inv.hostByName[h] == nil {
				diags = append(diags, unknownRef("host", h, memberRange(g, g.hostRanges, i), hostNames(inv)))
			}
		}
	}
	return diags
}

// memberRange is where the i-th name of a group's list is written, or the group's block
// when that is not known.
func memberRange(g *Group, ranges []hcl.Range, i int) hcl.Range {
	if i < len(ranges) {
		return ranges[i]
	}
	return g.DeclRange
}

// checkCycles reports the first cycle in group children, on the group of the cycle that
// the inventory declares first: a group merely above a cycle is not to blame.
func (inv *Inventory) checkCycles() *hcl.Diagnostic {
	done := map[*Group]bool{}
	for _, g := range inv.Groups {
		cycle := inv.findCycle(g, nil, done)
		if cycle == nil {
			continue
		}
		at := g
		for _, c := range inv.Groups {
			if contains(cycle, c.Name) {
				at = c
				break
			}
		}
		return &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Cycle in group children",
			Detail: fmt.Sprintf("Groups contain each other: %s. A group cannot be its own descendant.",
				strings.Join(cycle, " -> ")),
			Subject: at.DeclRange.Ptr(),
		}
	}
	return nil
}

// markParents marks g and every group that has g as a descendant.
func (inv *Inventory) markParents(g *Group, member map[*Group]bool) {
	if member[g] && g.Name != "all" {
		return
	}
	member[g] = true
	for _, p := range inv.Groups {
		if contains(p.Children, g.Name) {
			inv.markParents(p, member)
		}
	}
}

// depthOf is how deep g sits below "all": a group nobody lists as a child is 1 deep, a child
// one more than its deepest parent. Children have no cycle when this runs.
func (inv *Inventory) depthOf(g *Group) int {
	if g.Name == "all" {
		return 0
	}
	if g.depth > 0 {
		return g.depth
	}
	d := 1
	for _, p := range inv.Groups {
		if p.Name != "all" && contains(p.Children, g.Name) {
			d = max(d, inv.depthOf(p)+1)
		}
	}
	g.depth = d
	return d
}

// findCycle returns the names along a cycle reachable from g, first and last the same, or
// nil. path holds the groups being walked; done those already known to reach no cycle, which
// keeps the walk linear however groups share children.
func (inv *Inventory) findCycle(g *Group, path []string, done map[*Group]bool) []string {
	if done[g] {
		return nil
	}
	for i, p := range path {
		if p == g.Name {
			return append(path[i:len(path):len(path)], g.Name)
		}
	}
	path = append(path, g.Name)
	for _, c := range g.Children {
		if cycle := inv.findCycle(inv.groupByName[c], path, done); cycle != nil {
			return cycle
		}
	}
	done[g] = true
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func groupNames(inv *Inventory) []string {
	var out []string
	for _, g := range inv.Groups {
		out = append(out, g.Name)
	}
	return out
}

func hostNames(inv *Inventory) []string {
	var out []string
	for _, h := range inv.Hosts {
		out = append(out, h.Name)
	}
	return out
}

func suggest(name string, candidates []string) string { return config.NameSuggestion(name, candidates) }
