package runner

import (
	"fmt"
	"math/big"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"

	"github.com/kplay-dev/kplay/engine/config"
	"github.com/kplay-dev/kplay/engine/eval"
	"github.com/kplay-dev/kplay/engine/modules"
	"github.com/kplay-dev/kplay/engine/output"
)

// evalBool evaluates a condition; nil without error means it is not known (check mode).
func evalBool(e hcl.Expression, ctx *hcl.EvalContext) (*bool, error) {
	v, diags := e.Value(ctx)
	if diags.HasErrors() {
		return nil, diagError(diags)
	}
	if !v.IsKnown() {
		return nil, nil
	}
	v, err := convert.Convert(v, cty.Bool)
	if err != nil || v.IsNull() {
		return nil, fmt.Errorf("%s: a condition must be true or false", e.Range())
	}
	b := v.True()
	return &b, nil
}

func evalString(e hcl.Expression, ctx *hcl.EvalContext) (string, error) {
	v, diags := e.Value(ctx)
	if diags.HasErrors() {
		return "", diagError(diags)
	}
	v, err := convert.Convert(v, cty.String)
	if err != nil || v.IsNull() || !v.IsKnown() {
		return "", fmt.Errorf("%s: expected a string", e.Range())
	}
	return v.AsString(), nil
}

type item struct {
	key, value cty.Value
	label      string
}

// loopItems expands for_each: a list gives index keys, a set its values, a map or object
// its keys. Without for_each there is one item with no key.
func loopItems(t *config.Task, s *eval.Scope) ([]item, error) {
	if t.ForEach == nil {
		return []item{{}}, nil
	}
	v, diags := t.ForEach.Value(s.Context())
	if diags.HasErrors() {
		return nil, diagError(diags)
	}
	if v.IsNull() || !v.IsWhollyKnown() || !v.CanIterateElements() {
		return nil, fmt.Errorf("%s: for_each needs a known list, set, map or object", t.ForEach.Range())
	}
	ty := v.Type()
	var items []item
	for it := v.ElementIterator(); it.Next(); {
		k, val := it.Element()
		switch {
		case ty.IsSetType():
			k = val
		case ty.IsListType() || ty.IsTupleType():
			// keep the index as key
		}
		items = append(items, item{key: k, value: val, label: label(k)})
	}
	if len(items) == 0 {
		return nil, nil
	}
	return items, nil
}

func label(v cty.Value) string {
	if v.Type() == cty.String {
		return v.AsString()
	}
	return modules.Show(v)
}

// evalArgs evaluates the module's arguments and converts them to their declared types.
// known is false when one depends on a value check mode could not know.
func evalArgs(t *config.Task, spec *config.ModuleSpec, s *eval.Scope) (modules.Args, bool, error) {
	args := modules.Args{}
	ctx := s.Context()
	known := true
	for name, at := range t.Args {
		v, diags := at.Expr.Value(ctx)
		if diags.HasErrors() {
			return nil, false, diagError(diags)
		}
		if !v.IsWhollyKnown() {
			known = false
			continue
		}
		a := spec.Arg(name)
		if err := a.CheckValue(v); err != nil {
			return nil, false, fmt.Errorf("%s: %w", at.Expr.Range(), err)
		}
		if a != nil && a.Type != cty.DynamicPseudoType && !v.IsNull() {
			conv, err := convert.Convert(v, a.Type)
			if err != nil {
				return nil, false, fmt.Errorf("%s: argument %q must be %s: %v", at.Expr.Range(), name, a.Type.FriendlyName(), err)
			}
			v = conv
		}
		args[name] = v
	}
	return args, known, nil
}

// resultValue is what `register` stores for one outcome.
func resultValue(o outcome) cty.Value {
	m := map[string]cty.Value{
		"changed": cty.BoolVal(o.status == output.StatusChanged),
		"failed":  cty.BoolVal(o.status == output.StatusFailed || o.status == output.StatusIgnored),
		"skipped": cty.BoolVal(o.status == output.StatusSkipped),
		"msg":     cty.StringVal(""),
		"rc":      cty.NullVal(cty.Number),
		"stdout":  cty.StringVal(""),
		"stderr":  cty.StringVal(""),
	}
	if o.res != nil {
		m["msg"] = cty.StringVal(o.res.Msg)
		m["stdout"] = cty.StringVal(o.res.Stdout)
		m["stderr"] = cty.StringVal(o.res.Stderr)
		if o.res.RC != nil {
			m["rc"] = cty.NumberVal(new(big.Float).SetInt64(int64(*o.res.RC)))
		}
		for k, v := range o.res.Data {
			m[k] = v
		}
		if o.res.Skipped && o.res.Changed {
			// Check mode did not run it: what it would have printed is not known.
			m["rc"], m["stdout"], m["stderr"] = cty.UnknownVal(cty.Number), cty.UnknownVal(cty.String), cty.UnknownVal(cty.String)
		}
	}
	if o.err != nil {
		m["msg"] = cty.StringVal(o.err.Error())
	}
	m["stdout_lines"] = lines(m["stdout"])
	return cty.ObjectVal(m)
}

func lines(v cty.Value) cty.Value {
	if !v.IsKnown() {
		return cty.UnknownVal(cty.List(cty.String))
	}
	s := strings.TrimRight(v.AsString(), "\n")
	if s == "" {
		return cty.ListValEmpty(cty.String)
	}
	var out []cty.Value
	for _, l := range strings.Split(s, "\n") {
		out = append(out, cty.StringVal(l))
	}
	return cty.ListVal(out)
}

func skippedValue() cty.Value {
	return resultValue(outcome{status: output.StatusSkipped})
}

// registerValue is the registered value of a task: the single outcome's, or for a loop an
// object with changed/failed over all items and results in item order.
func registerValue(outs []outcome, loop bool) cty.Value {
	if !loop {
		if len(outs) == 0 {
			return skippedValue()
		}
		return outs[0].value
	}
	var results []cty.Value
	changed, failed := false, false
	for _, o := range outs {
		results = append(results, o.value)
		changed = changed || o.status == output.StatusChanged
		failed = failed || o.status == output.StatusFailed
	}
	rv := cty.EmptyTupleVal
	if len(results) > 0 {
		rv = cty.TupleVal(results)
	}
	return cty.ObjectVal(map[string]cty.Value{
		"changed": cty.BoolVal(changed), "failed": cty.BoolVal(failed),
		"skipped": cty.BoolVal(len(outs) == 0), "results": rv,
	})
}

// redactor hides the values of the role's sensitive variables in anything shown.
func redactor(t *config.Task, vars *eval.Vars) func(string) string {
	var secrets []string
	if t.Role != nil {
		for name, v := range t.Role.Variables {
			if !v.Sensitive {
				continue
			}
			if val, ok := vars.Values[name]; ok && val.IsKnown() && !val.IsNull() && val.Type() == cty.String && val.AsString() != "" {
				secrets = append(secrets, val.AsString())
			}
		}
	}
	sort.Slice(secrets, func(i, j int) bool { return len(secrets[i]) > len(secrets[j]) })
	return func(s string) string {
		for _, sec := range secrets {
			s = strings.ReplaceAll(s, sec, "(sensitive value)")
		}
		return s
	}
}

// templater renders the task's role templates (or, for a play's own task, templates/ beside
// the playbook) in the task's scope plus extra names.
func (r *Runner) templater(t *config.Task, s *eval.Scope) func(string, map[string]cty.Value) (string, error) {
	return func(src string, extra map[string]cty.Value) (string, error) {
		role := t.Role
		if role == nil {
			role = r.Loader.PlaybookRole()
		}
		rng := t.ModuleRange
		if a := t.Args["src"]; a != nil {
			rng = a.Expr.Range()
		}
		tmpl, diags := r.Loader.LoadTemplate(role, src, rng)
		if diags.HasErrors() {
			return "", diagError(diags)
		}
		ctx := s.Context()
		if len(extra) > 0 {
			child := ctx.NewChild()
			child.Variables = extra
			ctx = child
		}
		v, diags := tmpl.Expr.Value(ctx)
		if diags.HasErrors() {
			return "", diagError(diags)
		}
		if !v.IsWhollyKnown() {
			return "", fmt.Errorf("template %s uses values not known in check mode", tmpl.Name)
		}
		v, err := convert.Convert(v, cty.String)
		if err != nil {
			return "", fmt.Errorf("template %s: %w", tmpl.Name, err)
		}
		if v.IsNull() {
			return "", fmt.Errorf("template %s produced null, not text", tmpl.Name)
		}
		return v.AsString(), nil
	}
}

func (r *Runner) source(filename string) []byte {
	if f := r.Loader.Parser.Files()[filename]; f != nil {
		return f.Bytes
	}
	return nil
}

// evalEnv evaluates a task's environment: an object of names to strings. A name must be a
// valid shell variable name, since it is exported through the shell.
func evalEnv(e hcl.Expression, s *eval.Scope) (map[string]string, error) {
	v, diags := e.Value(s.Context())
	if diags.HasErrors() {
		return nil, diagError(diags)
	}
	if v.IsNull() || !v.IsWhollyKnown() || !(v.Type().IsObjectType() || v.Type().IsMapType()) {
		return nil, fmt.Errorf("%s: environment takes an object of names to strings", e.Range())
	}
	env := map[string]string{}
	for k, x := range v.AsValueMap() {
		if !validEnvName(k) {
			return nil, fmt.Errorf("%s: %q is not a valid environment variable name", e.Range(), k)
		}
		sv, err := convert.Convert(x, cty.String)
		if err != nil || sv.IsNull() {
			return nil, fmt.Errorf("%s: environment value of %s must be a string", e.Range(), k)
		}
		env[k] = sv.AsString()
	}
	return env, nil
}

func validEnvName(s string) bool {
	for i, r := range s {
		ok := r == '_' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || i > 0 && r >= '0' && r <= '9'
		if !ok {
			return false
		}
	}
	return s != ""
}
