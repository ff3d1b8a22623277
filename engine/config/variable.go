package config

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/typeexpr"
	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// Variable is a role's documented input: `variable "name" { ... }`.
type Variable struct {
	Name        string
	Description string
	// Type is cty.DynamicPseudoType when the block sets none.
	Type cty.Type
	// Default is evaluated per host, so it may refer to other variables, hosts and facts;
	// nil means the variable is required.
	Default    hcl.Expression
	Sensitive  bool
	Validation []*Validation
	DeclRange  hcl.Range
}

// Validation is one `validation { condition, error_message }` block of a variable.
type Validation struct {
	Condition    hcl.Expression
	ErrorMessage string
	Range        hcl.Range
}

var variableSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "default"}, {Name: "type"}, {Name: "description"}, {Name: "sensitive"},
	},
	Blocks: []hcl.BlockHeaderSchema{{Type: "validation"}},
}

var validationSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "condition", Required: true}, {Name: "error_message", Required: true},
	},
}

func decodeVariable(block *hcl.Block) (*Variable, hcl.Diagnostics) {
	v := &Variable{Name: block.Labels[0], DeclRange: block.DefRange, Type: cty.DynamicPseudoType}
	content, diags := block.Body.Content(variableSchema)
	if !hclsyntaxValid(v.Name) {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Invalid variable name",
			Detail:   "A variable name is lower_snake_case: letters, digits and underscores.",
			Subject:  block.LabelRanges[0].Ptr(),
		})
	}
	if a := content.Attributes["type"]; a != nil {
		ty, d := typeexpr.TypeConstraint(a.Expr)
		diags = append(diags, d...)
		v.Type = ty
	}
	if a := content.Attributes["description"]; a != nil {
		diags = append(diags, gohcl.DecodeExpression(a.Expr, nil, &v.Description)...)
	}
	if a := content.Attributes["sensitive"]; a != nil {
		diags = append(diags, gohcl.DecodeExpression(a.Expr, nil, &v.Sensitive)...)
	}
	if a := content.Attributes["default"]; a != nil {
		v.Default = a.Expr
		diags = append(diags, v.checkStaticDefault(a)...)
	}
	for _, b := range content.Blocks {
		vc, d := b.Body.Content(validationSchema)
		diags = append(diags, d...)
		if d.HasErrors() {
			continue
		}
		val := &Validation{Condition: vc.Attributes["condition"].Expr, Range: b.DefRange}
		diags = append(diags, checkStaticCondition(val.Condition)...)
		diags = append(diags, gohcl.DecodeExpression(vc.Attributes["error_message"].Expr, nil, &val.ErrorMessage)...)
		v.Validation = append(v.Validation, val)
	}
	return v, diags
}

// checkStaticDefault type-checks a default that needs no variables.
func (v *Variable) checkStaticDefault(a *hcl.Attribute) hcl.Diagnostics {
	if len(a.Expr.Variables()) > 0 || v.Type == cty.DynamicPseudoType {
		return nil
	}
	val, diags := a.Expr.Value(StaticContext())
	if diags.HasErrors() || val.IsNull() {
		return nil
	}
	if _, err := convert.Convert(val, v.Type); err != nil {
		return hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Invalid default value",
			Detail: fmt.Sprintf("The default of variable %q must be %s: %v.",
				v.Name, v.Type.FriendlyName(), err),
			Subject: a.Expr.Range().Ptr(),
		}}
	}
	return nil
}

// checkStaticCondition requires a validation condition that needs no variables to be a
// bool. One that needs them, or fails here (a file function resolves paths differently at
// run time), is checked when it is evaluated for a host.
func checkStaticCondition(cond hcl.Expression) hcl.Diagnostics {
	if len(cond.Variables()) > 0 {
		return nil
	}
	val, diags := cond.Value(StaticContext())
	if diags.HasErrors() {
		return nil
	}
	if val.Type() == cty.Bool || val.Type() == cty.DynamicPseudoType {
		return nil
	}
	return hcl.Diagnostics{{
		Severity: hcl.DiagError,
		Summary:  "Invalid validation condition",
		Detail: fmt.Sprintf("A condition must be true or false, not %s.",
			friendlyValue(val)),
		Subject: cond.Range().Ptr(),
	}}
}

// friendlyValue names a value's type, and quotes it when it is a short known string.
func friendlyValue(v cty.Value) string {
	if v.Type() == cty.String && v.IsKnown() && !v.IsNull() && len(v.AsString()) <= 40 {
		return fmt.Sprintf("the string %q", v.AsString())
	}
	return v.Type().FriendlyName()
}
