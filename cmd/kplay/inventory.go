package main

import (
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kplay-dev/kplay/engine/config"
	"github.com/kplay-dev/kplay/engine/inventory"
	"github.com/kplay-dev/kplay/engine/output"
)

func newInventoryCmd() *cobra.Command {
	var path string
	cmd := &cobra.Command{
		Use:   "inventory",
		Short: "Show an inventory's groups and hosts, as a tree or a Graphviz graph",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.PersistentFlags().StringVarP(&path, "inventory", "i", "", "inventory file (hosts.hcl)")
	cmd.MarkPersistentFlagFilename("inventory", "hcl")
	cmd.AddCommand(&cobra.Command{
		Use:   "list -i INVENTORY",
		Short: "Print groups as a tree, each with its hosts and their addresses",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			inv, err := loadInventory(cmd, path)
			if err == nil {
				err = listInventory(cmd.OutOrStdout(), inv)
			}
			return err
		},
	}, &cobra.Command{
		Use:   "graph -i INVENTORY",
		Short: "Print groups and hosts as a Graphviz graph (dot -Tsvg to draw it)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			inv, err := loadInventory(cmd, path)
			if err == nil {
				err = graphInventory(cmd.OutOrStdout(), inv)
			}
			return err
		},
	})
	return cmd
}

// loadInventory reads and checks the inventory, printing its diagnostics to stderr.
func loadInventory(cmd *cobra.Command, path string) (*inventory.Inventory, error) {
	if path == "" {
		return nil, &exitError{code: exitBadOptions, msg: "no inventory: pass -i hosts.hcl"}
	}
	parser := config.NewParser()
	inv, diags := inventory.Load(parser, path)
	if !diags.HasErrors() {
		diags = append(diags, applySSHConfig(inv)...)
	}
	if len(diags) > 0 {
		w := cmd.ErrOrStderr()
		output.Diagnostics(w, parser.Files(), diags, colorOn(w))
	}
	if diags.HasErrors() {
		msg := fmt.Sprintf("%d error(s) in %s", countErrors(diags), path)
		return nil, &exitError{code: exitInvalid, msg: msg}
	}
	return inv, nil
}

// treeLine is one line of the inventory tree: a group, or a host with its address.
type treeLine struct {
	depth   int
	name    string
	address string // empty for a group
}

// listInventory prints "all" with the hosts that are in no other group, then every top
// group with its hosts and, indented below it, its children. A group with two parents is
// shown under both.
func listInventory(w io.Writer, inv *inventory.Inventory) error {
	lines := []treeLine{{name: "@all"}}
	for _, h := range ungrouped(inv) {
		lines = append(lines, treeLine{depth: 1, name: h.Name, address: hostAddress(h)})
	}
	for _, g := range topGroups(inv) {
		lines = appendGroup(lines, inv, g, 1)
	}
	width := 0
	for _, l := range lines {
		width = max(width, 2*l.depth+len(l.name))
	}
	for _, l := range lines {
		text := strings.Repeat("  ", l.depth) + l.name
		if l.address == "" {
			_, err := fmt.Fprintln(w, text)
			if err != nil {
				return err
			}
			continue
		}
		if _, err := fmt.Fprintf(w, "%-*s  %s\n", width, text, l.address); err != nil {
			return err
		}
	}
	return nil
}

func appendGroup(lines []treeLine, inv *inventory.Inventory, g *inventory.Group,
	depth int) []treeLine {
	lines = append(lines, treeLine{depth: depth, name: "@" + g.Name})
	for _, name := range g.Hosts {
		h := inv.Host(name)
		lines = append(lines, treeLine{depth: depth + 1, name: h.Name, address: hostAddress(h)})
	}
	for _, c := range g.Children {
		lines = appendGroup(lines, inv, inv.Group(c), depth+1)
	}
	return lines
}

// topGroups are the groups no other group lists as a child, in inventory order.
func topGroups(inv *inventory.Inventory) []*inventory.Group {
	child := map[string]bool{}
	for _, g := range inv.Groups {
		for _, c := range g.Children {
			child[c] = true
		}
	}
	var top []*inventory.Group
	for _, g := range inv.Groups {
		if g.Name != "all" && !child[g.Name] {
			top = append(top, g)
		}
	}
	return top
}

// ungrouped are the hosts in no group but "all".
func ungrouped(inv *inventory.Inventory) []*inventory.Host {
	var out []*inventory.Host
	for _, h := range inv.Hosts {
		if len(h.Groups) <= 1 {
			out = append(out, h)
		}
	}
	return out
}

func hostAddress(h *inventory.Host) string {
	switch {
	case h.Local():
		return "local"
	case h.Port != 22:
		return net.JoinHostPort(h.Address, strconv.Itoa(h.Port))
	}
	return h.Address
}

// graphInventory writes the inventory in Graphviz's dot language: groups are boxes, hosts
// ellipses labeled with their address; an edge goes from a group to each child group and
// to each host it lists, and from "all" to the top groups and the ungrouped hosts.
func graphInventory(w io.Writer, inv *inventory.Inventory) error {
	var b strings.Builder
	b.WriteString("digraph inventory {\n  rankdir=LR;\n  node [shape=box];\n")
	for _, g := range inv.Groups {
		fmt.Fprintf(&b, "  %s;\n", dotID(g.Name))
	}
	for _, h := range inv.Hosts {
		label := h.Name + "\n" + hostAddress(h)
		fmt.Fprintf(&b, "  %s [shape=ellipse, label=%s];\n", dotID(h.Name), dotID(label))
	}
	edge := func(from, to string) { fmt.Fprintf(&b, "  %s -> %s;\n", dotID(from), dotID(to)) }
	for _, g := range topGroups(inv) {
		edge("all", g.Name)
	}
	for _, h := range ungrouped(inv) {
		edge("all", h.Name)
	}
	for _, g := range inv.Groups {
		if g.Name == "all" {
			continue
		}
		for _, c := range g.Children {
			edge(g.Name, c)
		}
		for _, h := range g.Hosts {
			edge(g.Name, h)
		}
	}
	b.WriteString("}\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// dotID quotes s as a dot string; inventory names are plain, but addresses and newlines in
// labels need it.
func dotID(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	return `"` + r.Replace(s) + `"`
}
