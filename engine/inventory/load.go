package inventory

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/kplay-dev/kplay/engine/config"
)

var inventorySchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "vars"}, {Name: "state_dir"}},
	Blocks: []hcl.BlockHeaderSchema{
		{Type: "defaults"},
		{Type: "host", LabelNames: []string{"name"}},
		{Type: "group", LabelNames: []string{"name"}},
	},
}

var defaultsSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "user"}, {Name: "port"}, {Name: "key_files"}, {Name: "known_hosts"}, {Name: "become"},
		{Name: "jump"}, {Name: "ssh_config"},
	},
}

var hostSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "address"}, {Name: "port"}, {Name: "user"}, {Name: "key_files"},
		{Name: "connection"}, {Name: "become"}, {Name: "vars"}, {Name: "jump"},
	},
}

var groupSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "hosts"}, {Name: "children"}, {Name: "vars"}},
}

// Load reads an inventory file. The result is usable only when the diagnostics hold no error.
func Load(p *config.Parser, path string) (*Inventory, hcl.Diagnostics) {
	abs, _ := filepath.Abs(path)
	inv := &Inventory{
		Path: path, Dir: filepath.Dir(abs),
		Defaults:    Defaults{User: "root", Port: 22, SshConfig: defaultSSHConfig()},
		hostByName:  map[string]*Host{},
		groupByName: map[string]*Group{},
	}
	file, diags := p.ParseFile(path)
	if file == nil || diags.HasErrors() {
		return inv, diags
	}
	content, d := file.Body.Content(inventorySchema)
	diags = append(diags, d...)
	inv.Vars, d = config.DecodeVars(content.Attributes["vars"])
	diags = append(diags, d...)
	stateDir := "state"
	diags = append(diags, decodeLiteral(content.Attributes["state_dir"], &stateDir)...)
	inv.StateDir = inv.resolvePath(stateDir)

	all := &Group{Name: "all", Vars: config.Values{}}
	inv.Groups = append(inv.Groups, all)
	inv.groupByName["all"] = all
	for _, b := range content.Blocks {
		switch b.Type {
		case "defaults":
			diags = append(diags, inv.decodeDefaults(b)...)
		}
	}
	for _, b := range content.Blocks {
		switch b.Type {
		case "host":
			diags = append(diags, inv.decodeHost(b)...)
		case "group":
			diags = append(diags, inv.decodeGroup(b)...)
		}
	}
	if diags.HasErrors() {
		return inv, diags
	}
	all.Hosts = hostNames(inv)
	if diags := inv.link(); diags.HasErrors() {
		return inv, diags
	}
	return inv, inv.checkJumps()
}

func (inv *Inventory) decodeDefaults(b *hcl.Block) hcl.Diagnostics {
	c, diags := b.Body.Content(defaultsSchema)
	d := &inv.Defaults
	a := c.Attributes
	diags = append(diags, decodeLiteral(a["user"], &d.User)...)
	diags = append(diags, decodePort(a["port"], &d.Port, "the defaults block")...)
	diags = append(diags, decodeLiteral(a["key_files"], &d.KeyFiles)...)
	diags = append(diags, decodeLiteral(a["known_hosts"], &d.KnownHosts)...)
	diags = append(diags, decodeLiteral(a["become"], &d.Become)...)
	diags = append(diags, decodeLiteral(a["ssh_config"], &d.SshConfig)...)
	if at := a["jump"]; at != nil {
		diags = append(diags, decodeLiteral(at, &d.Jump)...)
		inv.defaultsJumpRange = at.Expr.Range()
	}
	d.explicit = Explicit{User: a["user"] != nil, Port: a["port"] != nil,
		KeyFiles: a["key_files"] != nil, Jump: a["jump"] != nil}
	for i, k := range d.KeyFiles {
		d.KeyFiles[i] = inv.resolvePath(k)
	}
	d.KnownHosts = inv.resolvePath(d.KnownHosts)
	if a["ssh_config"] != nil {
		d.SshConfig = inv.resolvePath(d.SshConfig)
	}
	return diags
}

// defaultSSHConfig is the user's OpenSSH client configuration, ~/.ssh/config, or "" when
// there is no home directory to find it in.
func defaultSSHConfig() string {
	home, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	return filepath.Join(home, ".ssh", "config")
}

func (inv *Inventory) decodeHost(b *hcl.Block) hcl.Diagnostics {
	name := b.Labels[0]
	h := &Host{
		Name: name, Address: name, Port: inv.Defaults.Port, User: inv.Defaults.User,
		KeyFiles: inv.Defaults.KeyFiles, Connection: "ssh", Become: inv.Defaults.Become,
		DeclRange: b.DefRange,
	}
	c, diags := b.Body.Content(hostSchema)
	diags = append(diags, checkName("host", name, b)...)
	a := c.Attributes
	diags = append(diags, decodeLiteral(a["address"], &h.Address)...)
	diags = append(diags, decodePort(a["port"], &h.Port, fmt.Sprintf("host %q", name))...)
	diags = append(diags, decodeLiteral(a["user"], &h.User)...)
	diags = append(diags, decodeLiteral(a["key_files"], &h.KeyFiles)...)
	diags = append(diags, decodeLiteral(a["connection"], &h.Connection)...)
	diags = append(diags, decodeLiteral(a["become"], &h.Become)...)
	h.Jump = inv.Defaults.Jump
	h.jumpRange = inv.defaultsJumpRange
	if at := a["jump"]; at != nil {
		diags = append(diags, decodeLiteral(at, &h.Jump)...)
		h.jumpRange = at.Expr.Range()
	}
	h.explicit = hostExplicit(inv.Defaults.explicit, a)
	if h.Jump == name {
		// The jump host itself, when the defaults name it, is not reached through itself;
		// the defaults' jump says nothing about how it is reached.
		h.Jump = ""
		h.explicit.Jump = a["jump"] != nil
	}
	if h.Connection != "ssh" && h.Connection != "local" {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Invalid connection",
			Detail:   fmt.Sprintf("Host %q: connection is \"ssh\" or \"local\", not %q.", name, h.Connection),
			Subject:  a["connection"].Expr.Range().Ptr(),
		})
	}
	for i, k := range h.KeyFiles {
		h.KeyFiles[i] = inv.resolvePath(k)
	}
	vars, d := config.DecodeVars(a["vars"])
	diags = append(diags, d...)
	h.Vars = vars
	if prev := inv.hostByName[name]; prev != nil {
		return append(diags, dup("host", name, b.DefRange, prev.DeclRange))
	}
	if g := inv.groupByName[name]; g != nil {
		return append(diags, dup("name", name, b.DefRange, g.DeclRange))
	}
	inv.hostByName[name] = h
	inv.Hosts = append(inv.Hosts, h)
	return diags
}

// hostExplicit is what the defaults block wrote, plus what the host's block writes.
func hostExplicit(defaults Explicit, a hcl.Attributes) Explicit {
	e := defaults
	e.Address = a["address"] != nil
	e.User = e.User || a["user"] != nil
	e.Port = e.Port || a["port"] != nil
	e.KeyFiles = e.KeyFiles || a["key_files"] != nil
	e.Jump = e.Jump || a["jump"] != nil
	return e
}

func (inv *Inventory) decodeGroup(b *hcl.Block) hcl.Diagnostics {
	name := b.Labels[0]
	g := &Group{Name: name, DeclRange: b.DefRange}
	c, diags := b.Body.Content(groupSchema)
	diags = append(diags, checkName("group", name, b)...)
	diags = append(diags, decodeLiteral(c.Attributes["hosts"], &g.Hosts)...)
	diags = append(diags, decodeLiteral(c.Attributes["children"], &g.Children)...)
	g.hostRanges = elementRanges(c.Attributes["hosts"], len(g.Hosts))
	g.childRanges = elementRanges(c.Attributes["children"], len(g.Children))
	vars, d := config.DecodeVars(c.Attributes["vars"])
	diags = append(diags, d...)
	g.Vars = vars
	if name == "all" {
		// "all" exists already; a block of that name only adds variables to it.
		for k, v := range vars {
			inv.groupByName["all"].Vars[k] = v
		}
		return diags
	}
	if prev := inv.groupByName[name]; prev != nil {
		return append(diags, dup("group", name, b.DefRange, prev.DeclRange))
	}
	if h := inv.hostByName[name]; h != nil {
		return append(diags, dup("name", name, b.DefRange, h.DeclRange))
	}
	inv.groupByName[name] = g
	inv.Groups = append(inv.Groups, g)
	return diags
}

func decodeLiteral(at *hcl.Attribute, target any) hcl.Diagnostics {
	return config.DecodeLiteral(at, target)
}

// decodePort decodes a port attribute into port, leaving it as it was when at is absent or
// invalid. owner names what the port belongs to, for the diagnostic.
func decodePort(at *hcl.Attribute, port *int, owner string) hcl.Diagnostics {
	v := *port
	if diags := decodeLiteral(at, &v); at == nil || diags.HasErrors() {
		return diags
	}
	if v < 1 || v > 65535 {
		return hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Invalid port",
			Detail:   fmt.Sprintf("Port %d of %s is not between 1 and 65535.", v, owner),
			Subject:  at.Expr.Range().Ptr(),
		}}
	}
	*port = v
	return nil
}

// elementRanges returns where each of the n names of a list attribute is written, so a
// diagnostic about one name can cite it. A list that is not written out element by element
// (a function call, say) gives the whole expression's range for every name.
func elementRanges(at *hcl.Attribute, n int) []hcl.Range {
	if at == nil {
		return nil
	}
	out := make([]hcl.Range, n)
	tuple, ok := at.Expr.(*hclsyntax.TupleConsExpr)
	for i := range out {
		out[i] = at.Expr.Range()
		if ok && len(tuple.Exprs) == n {
			out[i] = tuple.Exprs[i].Range()
		}
	}
	return out
}

func checkName(kind, name string, b *hcl.Block) hcl.Diagnostics {
	if validName(name) {
		return nil
	}
	return hcl.Diagnostics{{
		Severity: hcl.DiagError,
		Summary:  "Invalid " + kind + " name",
		Detail: fmt.Sprintf("%q cannot be a %s name: use letters, digits, '-', '_' and '.', "+
			"starting with a letter or digit.", name, kind),
		Subject: b.LabelRanges[0].Ptr(),
	}}
}

func validName(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for i, r := range s {
		alnum := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
		if !alnum && (i == 0 || (r != '-' && r != '_' && r != '.')) {
			return false
		}
	}
	return true
}

func dup(kind, name string, at, prev hcl.Range) *hcl.Diagnostic {
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Duplicate " + kind,
		Detail:   fmt.Sprintf("%q is already declared at %s; host and group names are unique.", name, prev),
		Subject:  at.Ptr(),
	}
}

func unknownRef(kind, name string, at hcl.Range, candidates []string) *hcl.Diagnostic {
	detail := fmt.Sprintf("No %s named %q is declared in the inventory.", kind, name)
	if s := config.NameSuggestion(name, candidates); s != "" {
		detail += fmt.Sprintf(" Did you mean %q?", s)
	}
	return &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Unknown " + kind, Detail: detail, Subject: at.Ptr()}
}
