package config

import (
	"fmt"
	"io/fs"
	"path"
	"sort"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// Roots are the names an expression may start with, and what each holds.
var Roots = map[string]string{
	"var":        "the merged variables",
	"host":       "this host: name, address, groups",
	"facts":      "this host's facts",
	"hosts":      "every host by name, with its vars and facts",
	"groups":     "every group's host names, in order",
	"registered": "results registered by earlier tasks",
	"each":       "the current item of for_each: key and value",
	"kplay":      "run settings: state_dir, playbook_dir, inventory_dir, check_mode",
}

// Template is a template file of a role, parsed once at load.
type Template struct {
	Name string
	Expr hcl.Expression
}

// TemplatePath is where a role's template lives inside the role.
func TemplatePath(src string) string { return path.Join("templates", src) }

// loadTemplates parses the literal template paths of the role's tasks, reporting missing ones.
func (l *Loader) loadTemplates(r *Role) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, t := range append(append([]*Task{}, r.Tasks...), r.Handlers...) {
		spec := l.Modules[t.Module]
		if spec == nil {
			continue
		}
		for _, a := range spec.Args {
			at := t.Args[a.Name]
			if !a.Template || at == nil || len(at.Expr.Variables()) > 0 {
				continue
			}
			var src string
			if d := literal(at, &src); d.HasErrors() {
				continue
			}
			_, d := l.LoadTemplate(r, src, at.Expr.Range())
			diags = append(diags, d...)
		}
	}
	return diags
}

// LoadTemplate parses the role's template src. rng is where the task names it.
func (l *Loader) LoadTemplate(r *Role, src string, rng hcl.Range) (*Template, hcl.Diagnostics) {
	l.mu.Lock()
	defer l.mu.Unlock()
	key := r.Origin + "/" + src
	if t, ok := l.templates[key]; ok {
		return t, nil
	}
	p := TemplatePath(src)
	body, err := fs.ReadFile(r.FS, p)
	if err != nil {
		return nil, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Template not found",
			Detail:   fmt.Sprintf("Role %q has no %s (looked in %s).", r.Name, p, r.Origin),
			Subject:  rng.Ptr(),
		}}
	}
	name := path.Join(r.Origin, p)
	l.Parser.AddSource(name, body)
	expr, diags := hclsyntax.ParseTemplate(body, name, hcl.InitialPos)
	t := &Template{Name: name, Expr: expr}
	if !diags.HasErrors() {
		l.templates[key] = t
	}
	return t, diags
}

// CheckReferences reports references to variables, registered results and roots that no
// one defines. known holds the variables set outside the playbook: the inventory's (any
// layer) and the command line's.
func (l *Loader) CheckReferences(pb *Playbook, known map[string]bool) hcl.Diagnostics {
	registered := map[string]bool{}
	for _, p := range pb.Plays {
		for _, t := range append(p.AllTasks(), p.AllHandlers()...) {
			if t.Register != "" {
				registered[t.Register] = true
			}
		}
	}
	var diags hcl.Diagnostics
	seenRole := map[string]bool{}
	for _, p := range pb.Plays {
		vars := union(known, keys(p.Vars))
		for _, r := range p.Roles {
			rv := union(vars, roleVars(r))
			if !seenRole[r.Name] {
				for _, name := range r.VarOrder {
					if d := r.Variables[name].Default; d != nil {
						diags = append(diags, checkExpr(d, rv, registered, false)...)
					}
				}
			}
			seenRole[r.Name] = true
			for _, t := range append(append([]*Task{}, r.Tasks...), r.Handlers...) {
				diags = append(diags, l.checkTask(t, rv, registered)...)
			}
		}
		for _, t := range append(append([]*Task{}, p.Tasks...), p.Handlers...) {
			diags = append(diags, l.checkTask(t, vars, registered)...)
		}
	}
	return dedupe(diags)
}

func (l *Loader) checkTask(t *Task, vars, registered map[string]bool) hcl.Diagnostics {
	loop := t.ForEach != nil
	var diags hcl.Diagnostics
	for _, e := range []hcl.Expression{t.When, t.ForEach, t.ChangedWhen, t.FailedWhen, t.Until, t.DelegateTo, t.Environment} {
		if e != nil {
			diags = append(diags, checkExpr(e, vars, registered, loop && e != t.ForEach)...)
		}
	}
	for _, name := range sortedArgs(t.Args) {
		at := t.Args[name]
		diags = append(diags, checkExpr(at.Expr, vars, registered, loop)...)
		if spec := l.Modules[t.Module].Arg(name); spec != nil && spec.Template {
			role := t.Role
			if role == nil {
				role = l.playbookRole
			}
			var src string
			if len(at.Expr.Variables()) > 0 || literal(at, &src).HasErrors() {
				continue
			}
			tmpl, d := l.LoadTemplate(role, src, at.Expr.Range())
			diags = append(diags, d...)
			if tmpl != nil {
				diags = append(diags, checkExpr(tmpl.Expr, vars, registered, loop)...)
			}
		}
	}
	return diags
}

func checkExpr(e hcl.Expression, vars, registered map[string]bool, loop bool) hcl.Diagnostics {
	diags := checkFunctions(e)
	for _, tr := range e.Variables() {
		root := tr.RootName()
		switch {
		case Roots[root] == "":
			diags = append(diags, unknownName("Unknown name", fmt.Sprintf("%q is not something an expression can refer to.", root), root, sortedKeys(Roots), tr))
		case root == "each" && !loop:
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "each outside for_each",
				Detail:   "each.key and each.value exist only in a task that has for_each.",
				Subject:  tr.SourceRange().Ptr(),
			})
		case root == "var":
			if name, ok := attrName(tr); ok && !vars[name] {
				diags = append(diags, unknownName("Undefined variable",
					fmt.Sprintf("No variable %q is declared by this role, set by the play, the inventory or -e.", name),
					name, sortedKeys(vars), tr))
			}
		case root == "registered":
			if name, ok := attrName(tr); ok && !registered[name] {
				diags = append(diags, unknownName("Unknown registered result",
					fmt.Sprintf("No task registers %q.", name), name, sortedKeys(registered), tr))
			}
		}
	}
	return diags
}

func unknownName(summary, detail, name string, candidates []string, tr hcl.Traversal) *hcl.Diagnostic {
	if s := NameSuggestion(name, candidates); s != "" {
		detail += fmt.Sprintf(" Did you mean %q?", s)
	}
	return &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary, Detail: detail, Subject: tr.SourceRange().Ptr()}
}

func attrName(tr hcl.Traversal) (string, bool) {
	if len(tr) < 2 {
		return "", false
	}
	switch s := tr[1].(type) {
	case hcl.TraverseAttr:
		return s.Name, true
	case hcl.TraverseIndex:
		if s.Key.Type().FriendlyName() == "string" && s.Key.IsKnown() && !s.Key.IsNull() {
			return s.Key.AsString(), true
		}
	}
	return "", false
}

func roleVars(r *Role) map[string]bool {
	m := map[string]bool{}
	for n := range r.Variables {
		m[n] = true
	}
	return m
}

func keys(v Values) map[string]bool {
	m := map[string]bool{}
	for n := range v {
		m[n] = true
	}
	return m
}

func union(a, b map[string]bool) map[string]bool {
	m := make(map[string]bool, len(a)+len(b))
	for k := range a {
		m[k] = true
	}
	for k := range b {
		m[k] = true
	}
	return m
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func sortedArgs(m map[string]*hcl.Attribute) []string { return sortedKeys(m) }

// dedupe drops repeats of one diagnostic, which a role used by two plays would produce.
func dedupe(diags hcl.Diagnostics) hcl.Diagnostics {
	seen := map[string]bool{}
	var out hcl.Diagnostics
	for _, d := range diags {
		k := d.Summary + d.Detail
		if d.Subject != nil {
			k += d.Subject.String()
		}
		if !seen[k] {
			seen[k] = true
			out = append(out, d)
		}
	}
	return out
}

// checkFunctions reports calls of functions that do not exist, which HCL would otherwise
// only find when the expression is evaluated on a host.
func checkFunctions(e hcl.Expression) hcl.Diagnostics {
	node, ok := e.(hclsyntax.Node)
	if !ok {
		return nil
	}
	known := StaticContext().Functions
	var names []string
	for n := range known {
		names = append(names, n)
	}
	var diags hcl.Diagnostics
	hclsyntax.VisitAll(node, func(n hclsyntax.Node) hcl.Diagnostics {
		call, ok := n.(*hclsyntax.FunctionCallExpr)
		if !ok {
			return nil
		}
		if _, exists := known[call.Name]; exists {
			return nil
		}
		detail := fmt.Sprintf("There is no function named %q.", call.Name)
		if s := NameSuggestion(call.Name, names); s != "" {
			detail += fmt.Sprintf(" Did you mean %q?", s)
		}
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError, Summary: "Call to unknown function", Detail: detail,
			Subject: call.NameRange.Ptr(),
		})
		return nil
	})
	return diags
}
