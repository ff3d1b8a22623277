package modules

import (
	"context"
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"

	"github.com/kplay-dev/kplay/engine/config"
)

func init() {
	Register(debugModule{})
	Register(assertModule{})
}

// debugModule shows a value; it changes nothing.
type debugModule struct{}

func (debugModule) Spec() *config.ModuleSpec {
	return &config.ModuleSpec{Name: "debug", Args: []config.ArgSpec{
		{Name: "msg", Type: cty.DynamicPseudoType, Required: true, Doc: "The value to show."},
	}}
}

func (debugModule) Run(_ context.Context, c *Call) (*Result, error) {
	return &Result{Msg: c.Redact(Show(c.Args["msg"]))}, nil
}

// Show renders a value for people: strings as they are, anything else as JSON.
func Show(v cty.Value) string {
	if !v.IsWhollyKnown() {
		return "(known after the run)"
	}
	if v.IsNull() {
		return "null"
	}
	if v.Type() == cty.String {
		return v.AsString()
	}
	b, err := ctyjson.Marshal(v, v.Type())
	if err != nil {
		return v.GoString()
	}
	return string(b)
}

// assertModule fails the host when a condition is false, naming the condition.
type assertModule struct{}

func (assertModule) Spec() *config.ModuleSpec {
	return &config.ModuleSpec{Name: "assert", Args: []config.ArgSpec{
		{Name: "that", Type: cty.List(cty.Bool), Required: true, Doc: "Conditions that must all hold."},
		{Name: "fail_msg", Type: cty.String, Doc: "Message when one does not."},
		{Name: "success_msg", Type: cty.String, Doc: "Message when all do."},
	}}
}

// Run evaluates each condition on its own, so the failure names the one that was false.
func (assertModule) Run(_ context.Context, c *Call) (*Result, error) {
	conds := []hcl.Expression{c.Task.Args["that"].Expr}
	if tup, ok := c.Task.Args["that"].Expr.(*hclsyntax.TupleConsExpr); ok {
		conds = conds[:0]
		for _, e := range tup.Exprs {
			conds = append(conds, e)
		}
	}
	ctx := c.Scope.Context()
	for _, e := range conds {
		v, diags := e.Value(ctx)
		if diags.HasErrors() {
			return nil, diags
		}
		if !v.IsWhollyKnown() {
			return &Result{Skipped: true, Msg: "check mode: condition not known yet"}, nil
		}
		if v.Type() == cty.Bool && !v.IsNull() && v.True() {
			continue
		}
		if v.CanIterateElements() && allTrue(v) {
			continue
		}
		msg := c.Args.String("fail_msg", "")
		if msg == "" {
			msg = "assertion failed"
		}
		return nil, fmt.Errorf("%s: %s (at %s)", msg, strings.TrimSpace(string(e.Range().SliceBytes(sourceOf(c, e)))), e.Range())
	}
	return &Result{Msg: c.Args.String("success_msg", "all assertions passed")}, nil
}

func allTrue(v cty.Value) bool {
	for it := v.ElementIterator(); it.Next(); {
		_, e := it.Element()
		if e.Type() != cty.Bool || e.IsNull() || e.False() {
			return false
		}
	}
	return true
}

// sourceOf returns the bytes of the file an expression came from, for quoting it.
func sourceOf(c *Call, e hcl.Expression) []byte {
	if c.Source == nil {
		return nil
	}
	return c.Source(e.Range().Filename)
}
