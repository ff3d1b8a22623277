package eval

import (
	"fmt"
	"sort"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"

	"github.com/kplay-dev/kplay/engine/config"
	"github.com/kplay-dev/kplay/engine/inventory"
)

// Layer is one place variables are set. Layers apply in order; a later one wins.
type Layer struct {
	// Name says where, in the user's terms: "inventory vars", "group etcd", "host n1",
	// "play etcd", "command line (-e)".
	Name   string
	Values config.Values
}

// Origin is one place a variable was set, for kplay explain.
type Origin struct {
	Layer string
	Value cty.Value
	Range hcl.Range
}

// StaticLayers returns the layers that apply to h before any play: the inventory's vars,
// its groups' (parents before children) and its own.
func StaticLayers(inv *inventory.Inventory, h *inventory.Host) []Layer {
	layers := []Layer{{Name: "inventory vars", Values: inv.Vars}}
	for _, g := range h.Groups {
		if len(g.Vars) > 0 {
			layers = append(layers, Layer{Name: "group " + g.Name, Values: g.Vars})
		}
	}
	return append(layers, Layer{Name: "host " + h.Name, Values: h.Vars})
}

// merge applies layers in order and records every origin of every name.
func merge(layers []Layer) (map[string]cty.Value, map[string][]Origin) {
	vals := map[string]cty.Value{}
	origins := map[string][]Origin{}
	for _, l := range layers {
		for _, name := range sortedNames(l.Values) {
			v := l.Values[name]
			vals[name] = v.Value
			origins[name] = append(origins[name], Origin{Layer: l.Name, Value: v.Value, Range: v.Range})
		}
	}
	return vals, origins
}

// resolveRole completes vals with the role's defaults, evaluated in dependency order in a
// scope that sees the variables resolved so far, then converts and validates every declared
// variable. base supplies everything but var.
func resolveRole(r *config.Role, vals map[string]cty.Value, origins map[string][]Origin, base func(map[string]cty.Value) *hcl.EvalContext) hcl.Diagnostics {
	pending := map[string]*config.Variable{}
	for _, name := range r.VarOrder {
		if _, set := vals[name]; !set {
			pending[name] = r.Variables[name]
		} else if d := r.Variables[name].Default; d != nil {
			// Overridden, but explain still shows the default it would have had.
			val, diags := d.Value(base(vals))
			if diags.HasErrors() {
				val = cty.DynamicVal
			}
			origins[name] = append([]Origin{{Layer: defaultLayer(r), Value: val, Range: d.Range()}}, origins[name]...)
		}
	}
	var diags hcl.Diagnostics
	for len(pending) > 0 {
		progress := false
		for _, name := range r.VarOrder {
			v := pending[name]
			if v == nil || waitsFor(v, pending) {
				continue
			}
			delete(pending, name)
			progress = true
			if v.Default == nil {
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Required variable not set",
					Detail: fmt.Sprintf("Role %q needs variable %q (%s), which has no default: set "+
						"it in the inventory, the play's vars or with -e.", r.Name, name, v.Description),
					Subject: v.DeclRange.Ptr(),
				})
				continue
			}
			val, d := v.Default.Value(base(vals))
			diags = append(diags, d...)
			vals[name] = val
			origins[name] = append([]Origin{{Layer: defaultLayer(r), Value: val, Range: v.Default.Range()}}, origins[name]...)
		}
		if !progress {
			return append(diags, cycleDiag(r, pending))
		}
	}
	if diags.HasErrors() {
		return diags
	}
	return append(diags, checkTypes(r, vals, origins, base)...)
}

// waitsFor reports whether v's default refers to a variable still pending.
func waitsFor(v *config.Variable, pending map[string]*config.Variable) bool {
	if v.Default == nil {
		return false
	}
	for _, tr := range v.Default.Variables() {
		if tr.RootName() != "var" || len(tr) < 2 {
			continue
		}
		if a, ok := tr[1].(hcl.TraverseAttr); ok && pending[a.Name] != nil && a.Name != v.Name {
			return true
		}
	}
	return false
}

func cycleDiag(r *config.Role, pending map[string]*config.Variable) *hcl.Diagnostic {
	var names []string
	var first *config.Variable
	for _, n := range r.VarOrder {
		if pending[n] != nil {
			names = append(names, n)
			if first == nil {
				first = pending[n]
			}
		}
	}
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Variables refer to each other",
		Detail:   fmt.Sprintf("The defaults of %v in role %q depend on each other in a cycle.", names, r.Name),
		Subject:  first.DeclRange.Ptr(),
	}
}

func checkTypes(r *config.Role, vals map[string]cty.Value, origins map[string][]Origin, base func(map[string]cty.Value) *hcl.EvalContext) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, name := range r.VarOrder {
		v := r.Variables[name]
		val := vals[name]
		if v.Type != cty.DynamicPseudoType && !val.IsNull() && val.IsWhollyKnown() {
			conv, err := convert.Convert(val, v.Type)
			if err != nil {
				o := last(origins[name])
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Invalid value for variable",
					Detail: fmt.Sprintf("Variable %q of role %q must be %s; the value set in %s is "+
						"not: %v.", name, r.Name, v.Type.FriendlyName(), o.Layer, err),
					Subject: o.Range.Ptr(),
				})
				continue
			}
			vals[name] = conv
		}
	}
	if diags.HasErrors() {
		return diags
	}
	ctx := base(vals)
	for _, name := range r.VarOrder {
		for _, val := range r.Variables[name].Validation {
			ok, d := val.Condition.Value(ctx)
			diags = append(diags, d...)
			if d.HasErrors() || !ok.IsKnown() || ok.IsNull() || ok.Type() != cty.Bool || ok.True() {
				continue
			}
			o := last(origins[name])
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Invalid value for variable",
				Detail:   fmt.Sprintf("%s (variable %q, set in %s)", val.ErrorMessage, name, o.Layer),
				Subject:  o.Range.Ptr(),
			})
		}
	}
	return diags
}

func last(o []Origin) Origin {
	if len(o) == 0 {
		return Origin{Layer: "nowhere"}
	}
	return o[len(o)-1]
}

func sortedNames(v config.Values) []string {
	out := make([]string, 0, len(v))
	for k := range v {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// defaultLayer names where a variable's default comes from, for explain.
func defaultLayer(r *config.Role) string {
	if r.Shared {
		return "cluster default"
	}
	return "default of role " + r.Name
}
