package config

import (
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// Value is a variable's value as set in one place, with where it was set.
type Value struct {
	Value cty.Value
	Range hcl.Range
}

// Values are variables set in one layer (the inventory, a group, a host, a play, -e).
type Values map[string]Value

// DecodeVars evaluates a `vars = { ... }` attribute. Its values may use functions but no
// variables: a layer of values is data, and only role defaults are computed per host.
func DecodeVars(at *hcl.Attribute) (Values, hcl.Diagnostics) {
	out := Values{}
	if at == nil {
		return out, nil
	}
	obj, ok := at.Expr.(*hclsyntax.ObjectConsExpr)
	if !ok {
		return nil, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Invalid vars",
			Detail:   "vars takes an object: vars = { name = value, ... }.",
			Subject:  at.Expr.Range().Ptr(),
		}}
	}
	var diags hcl.Diagnostics
	for _, item := range obj.Items {
		key, d := keyName(item.KeyExpr)
		diags = append(diags, d...)
		if d.HasErrors() {
			continue
		}
		if _, dup := out[key]; dup {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Duplicate variable",
				Detail:   fmt.Sprintf("Variable %q is set twice in the same vars.", key),
				Subject:  item.KeyExpr.Range().Ptr(),
			})
			continue
		}
		if d := noVariables(item.ValueExpr, "A value in vars"); d.HasErrors() {
			diags = append(diags, d...)
			continue
		}
		v, d := item.ValueExpr.Value(StaticContext())
		diags = append(diags, d...)
		out[key] = Value{Value: v, Range: hcl.RangeBetween(item.KeyExpr.Range(), item.ValueExpr.Range())}
	}
	return out, diags
}

func keyName(e hcl.Expression) (string, hcl.Diagnostics) {
	if name := hcl.ExprAsKeyword(e); name != "" {
		return name, nil
	}
	v, diags := e.Value(nil)
	if diags.HasErrors() || v.Type() != cty.String || v.IsNull() {
		return "", hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Invalid variable name",
			Detail:   "A variable name is a bare word or a quoted string.",
			Subject:  e.Range().Ptr(),
		}}
	}
	return v.AsString(), nil
}

// noVariables rejects an expression that refers to variables where only data may stand.
func noVariables(e hcl.Expression, what string) hcl.Diagnostics {
	vars := e.Variables()
	if len(vars) == 0 {
		return nil
	}
	return hcl.Diagnostics{{
		Severity: hcl.DiagError,
		Summary:  "Variables not allowed",
		Detail: fmt.Sprintf("%s must be data: it cannot refer to %q. Compute it in a role "+
			"variable's default instead.", what, vars[0].RootName()),
		Subject: vars[0].SourceRange().Ptr(),
	}}
}

// hclsyntaxValid accepts lower_snake_case-style names only: HCL identifiers may contain
// '-', but var.web-port would read as a subtraction.
func hclsyntaxValid(name string) bool {
	return hclsyntax.ValidIdentifier(name) && !strings.Contains(name, "-")
}

// ValidName reports whether name can be a variable or registered name.
func ValidName(name string) bool { return hclsyntaxValid(name) }
