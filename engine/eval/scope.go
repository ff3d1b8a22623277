package eval

import (
	"sync"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"

	"github.com/kplay-dev/kplay/engine/config"
	"github.com/kplay-dev/kplay/engine/eval/funcs"
	"github.com/kplay-dev/kplay/engine/inventory"
)

// Env is what the scopes of one run share: the inventory, the command line's variables, the
// artifact pins, run settings and the facts gathered so far. Safe for concurrent use.
type Env struct {
	Inv   *inventory.Inventory
	Extra config.Values
	Pins  *config.Pins
	// Cluster holds the cluster variables, whose defaults every scope gets; may be nil.
	Cluster *config.Role
	// Kplay is the `kplay` object: state_dir, playbook_dir, inventory_dir, check_mode.
	Kplay map[string]cty.Value
	Funcs map[string]function.Function

	mu     sync.RWMutex
	facts  map[string]cty.Value
	hosts  cty.Value
	groups cty.Value
}

// NewEnv prepares an environment; baseDir is where file functions resolve relative paths.
func NewEnv(inv *inventory.Inventory, extra config.Values, pins *config.Pins, kplay map[string]cty.Value, baseDir string) *Env {
	e := &Env{
		Inv: inv, Extra: extra, Pins: pins, Kplay: kplay,
		Funcs: funcs.Table(funcs.Options{BaseDir: baseDir}),
		facts: map[string]cty.Value{},
	}
	e.rebuild()
	return e
}

// SetFacts records a host's facts, visible to every scope made afterwards.
func (e *Env) SetFacts(host string, facts cty.Value) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.facts[host] = facts
	e.rebuildLocked()
}

// Facts returns the host's facts, an empty object when none were gathered.
func (e *Env) Facts(host string) cty.Value {
	e.mu.RLock()
	defer e.mu.RUnlock()
	if f, ok := e.facts[host]; ok {
		return f
	}
	return cty.EmptyObjectVal
}

func (e *Env) rebuild() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.rebuildLocked()
}

// rebuildLocked makes the `hosts` and `groups` objects. Another host's vars are its static
// layers only: role defaults and play vars belong to the host that runs the task.
func (e *Env) rebuildLocked() {
	hosts := map[string]cty.Value{}
	for _, h := range e.Inv.Hosts {
		vals, _ := merge(StaticLayers(e.Inv, h))
		obj := hostObject(h)
		obj["vars"] = cty.ObjectVal(vals)
		if f, ok := e.facts[h.Name]; ok {
			obj["facts"] = f
		} else {
			obj["facts"] = cty.EmptyObjectVal
		}
		hosts[h.Name] = cty.ObjectVal(obj)
	}
	e.hosts = cty.ObjectVal(hosts)
	groups := map[string]cty.Value{}
	for _, g := range e.Inv.Groups {
		groups[g.Name] = names(e.Inv.GroupHosts(g.Name))
	}
	e.groups = cty.ObjectVal(groups)
}

func hostObject(h *inventory.Host) map[string]cty.Value {
	var groups []cty.Value
	for _, g := range h.Groups {
		if g.Name != "all" {
			groups = append(groups, cty.StringVal(g.Name))
		}
	}
	gv := cty.ListValEmpty(cty.String)
	if len(groups) > 0 {
		gv = cty.ListVal(groups)
	}
	return map[string]cty.Value{
		"name": cty.StringVal(h.Name), "address": cty.StringVal(h.Address),
		"groups": gv, "port": cty.NumberIntVal(int64(h.Port)), "user": cty.StringVal(h.User),
	}
}

func names(hosts []*inventory.Host) cty.Value {
	if len(hosts) == 0 {
		return cty.ListValEmpty(cty.String)
	}
	var out []cty.Value
	for _, h := range hosts {
		out = append(out, cty.StringVal(h.Name))
	}
	return cty.ListVal(out)
}

// Vars is a host's merged variables for one play and role, with every place each was set.
type Vars struct {
	Values  map[string]cty.Value
	Origins map[string][]Origin
}

// Vars merges the layers of variables for a task of role (nil for the play's own tasks) of
// play on host h: role defaults < inventory < groups < host < play < command line.
func (e *Env) Vars(h *inventory.Host, play *config.Play, role *config.Role) (*Vars, hcl.Diagnostics) {
	layers := StaticLayers(e.Inv, h)
	if play != nil {
		layers = append(layers, Layer{Name: "play " + play.Name, Values: play.Vars})
	}
	layers = append(layers, Layer{Name: "command line (-e)", Values: e.Extra})
	vals, origins := merge(layers)
	var diags hcl.Diagnostics
	base := func(v map[string]cty.Value) *hcl.EvalContext { return e.context(h, v, nil, nil) }
	// Cluster defaults first: a role's defaults may build on them.
	for _, r := range []*config.Role{e.Cluster, role} {
		if r != nil {
			diags = append(diags, resolveRole(r, vals, origins, base)...)
		}
	}
	if e.Pins != nil {
		art, d := e.artifacts(vals)
		diags = append(diags, d...)
		vals["artifacts"] = art
		vals["images"] = e.images(vals)
	}
	return &Vars{Values: vals, Origins: origins}, diags
}

// Scope is what one task sees on one host.
type Scope struct {
	env        *Env
	Host       *inventory.Host
	Vars       map[string]cty.Value
	Registered map[string]cty.Value
	each       map[string]cty.Value
}

// Scope returns the scope for a task on h with the given variables and registered results.
func (e *Env) Scope(h *inventory.Host, vars map[string]cty.Value, registered map[string]cty.Value) *Scope {
	return &Scope{env: e, Host: h, Vars: vars, Registered: registered}
}

// WithEach returns a copy of s that also sees each.key and each.value.
func (s *Scope) WithEach(key, value cty.Value) *Scope {
	c := *s
	c.each = map[string]cty.Value{"key": key, "value": value}
	return &c
}

// Context is the hcl evaluation context of the scope.
func (s *Scope) Context() *hcl.EvalContext {
	return s.env.context(s.Host, s.Vars, s.Registered, s.each)
}

func (e *Env) context(h *inventory.Host, vars, registered, each map[string]cty.Value) *hcl.EvalContext {
	e.mu.RLock()
	hosts, groups := e.hosts, e.groups
	facts, ok := e.facts[h.Name]
	e.mu.RUnlock()
	if !ok {
		facts = cty.EmptyObjectVal
	}
	v := map[string]cty.Value{
		"var":        cty.ObjectVal(vars),
		"host":       cty.ObjectVal(hostObject(h)),
		"facts":      facts,
		"hosts":      hosts,
		"groups":     groups,
		"registered": cty.ObjectVal(registered),
		"kplay":      cty.ObjectVal(e.Kplay),
	}
	if each != nil {
		v["each"] = cty.ObjectVal(each)
	}
	return &hcl.EvalContext{Variables: v, Functions: e.Funcs}
}
