package main

import (
	"fmt"
	"io"

	"github.com/hashicorp/hcl/v2"
	"github.com/spf13/cobra"
	"github.com/zclconf/go-cty/cty"

	"github.com/kplay-dev/kplay/engine/config"
	"github.com/kplay-dev/kplay/engine/eval"
	"github.com/kplay-dev/kplay/engine/facts"
	"github.com/kplay-dev/kplay/engine/inventory"
	"github.com/kplay-dev/kplay/engine/modules"
)

type explainFlags struct {
	loadFlags
	host string
}

func newExplainCmd() *cobra.Command {
	f := &explainFlags{}
	cmd := &cobra.Command{
		Use:   "explain PLAYBOOK VARIABLE -i INVENTORY --host HOST",
		Short: "Show a variable's value on a host and every place it is set, lowest first",
		Long: "Lists, for each play of the playbook that runs on the host, the variable's value\n" +
			"and every layer that sets it, from lowest to highest precedence, with file and line.\n" +
			"Cached facts are used when there are any; no host is contacted.",
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return explain(cmd.OutOrStdout(), cmd.ErrOrStderr(), args[0], args[1], f)
		},
	}
	cmd.Flags().StringVarP(&f.inventory, "inventory", "i", "", "inventory file (hosts.hcl)")
	cmd.Flags().StringArrayVarP(&f.extraVars, "extra-vars", "e", nil, "set a variable, name=value")
	cmd.Flags().StringVar(&f.host, "host", "", "the host to explain the variable for")
	return cmd
}

func explain(w, errw io.Writer, playbook, name string, f *explainFlags) error {
	p, err := load(errw, playbook, f.loadFlags)
	if err != nil {
		return err
	}
	h := p.inv.Host(f.host)
	if h == nil {
		return &exitError{code: exitBadOptions, msg: fmt.Sprintf("--host: no host %q in %s", f.host, p.inv.Path)}
	}
	env := newEnv(p, playbook, false, false)
	cache := &facts.Cache{Dir: p.inv.StateDir + "/facts", TTL: 1 << 62}
	if cached, _ := cache.Load(h.Name, h.Endpoint()); cached != nil {
		if v, err := cached.Value(); err == nil {
			env.SetFacts(h.Name, v)
		}
	}
	found := false
	for _, play := range p.playbook.Plays {
		if !runsOn(p.inv, play, h) {
			continue
		}
		for _, role := range scopes(play) {
			vars, diags := env.Vars(h, play, role)
			origins := vars.Origins[name]
			if len(origins) == 0 {
				continue
			}
			found = true
			printExplain(w, play, role, h, name, vars.Values[name], origins, diags)
		}
	}
	if !found {
		return &exitError{code: exitBadOptions, msg: fmt.Sprintf("variable %q is set nowhere that applies to %s", name, h.Name)}
	}
	return nil
}

// scopes are the variable scopes of a play's tasks: each role's, then the play's own.
func scopes(play *config.Play) []*config.Role {
	return append(append([]*config.Role{}, play.Roles...), nil)
}

func runsOn(inv *inventory.Inventory, play *config.Play, h *inventory.Host) bool {
	hosts, err := inv.Resolve(play.Hosts)
	if err != nil {
		return false
	}
	for _, x := range hosts {
		if x == h {
			return true
		}
	}
	return false
}

func printExplain(w io.Writer, play *config.Play, role *config.Role, h *inventory.Host, name string, v cty.Value, origins []eval.Origin, diags hcl.Diagnostics) {
	where := fmt.Sprintf("play %q", play.Name)
	if role != nil {
		where += fmt.Sprintf(", role %s", role.Name)
	}
	fmt.Fprintf(w, "%s on %s (%s) = %s\n", name, h.Name, where, modules.Show(v))
	for i, o := range origins {
		mark := "  "
		if i == len(origins)-1 {
			mark = "=>"
		}
		fmt.Fprintf(w, "  %s %-28s %-40s %s\n", mark, o.Layer, place(o.Range), modules.Show(o.Value))
	}
	for _, d := range diags {
		fmt.Fprintf(w, "  note: %s: %s\n", d.Summary, d.Detail)
	}
}

// place is file:line, or just the name of a range that is not in a file (-e NAME).
func place(r hcl.Range) string {
	if r.Start.Line == 0 {
		return r.Filename
	}
	return fmt.Sprintf("%s:%d", r.Filename, r.Start.Line)
}
