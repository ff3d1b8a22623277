package config

import (
	"fmt"
	"io/fs"
	"path"
	"slices"
	"sort"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/kplay-dev/kplay/engine/internal/hclsafe"
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
	if diags := hclsafe.CheckTemplate(body, name); diags.HasErrors() {
		return nil, diags
	}
	expr, diags := hclsyntax.ParseTemplate(body, name, hcl.InitialPos)
	t := &Template{Name: name, Expr: expr}
	if !diags.HasErrors() {
		l.templates[key] = t
	}
	return t, diags
}

// Scope is what the references of a playbook may name besides its own variables and
// registered results.
type Scope struct {
	// Vars are the variables set outside the playbook: the inventory's (any layer) and
	// the command line's.
	Vars map[string]bool
	// Groups and Hosts are the inventory's names. A literal groups.NAME or hosts["NAME"]
	// must be one of them; nil leaves those references unchecked.
	Groups, Hosts []string
}

// CheckReferences is CheckScope with only the variables known: groups and hosts are not
// checked.
func (l *Loader) CheckReferences(pb *Playbook, known map[string]bool) hcl.Diagnostics {
	return l.CheckScope(pb, Scope{Vars: known})
}

// CheckScope reports references to variables, registered results, roots, groups and hosts
// that no one defines.
func (l *Loader) CheckScope(pb *Playbook, scope Scope) hcl.Diagnostics {
	c := &refChecker{registered: map[string]bool{}, groups: scope.Groups, hosts: scope.Hosts}
	for _, p := range pb.Plays {
		for _, t := range append(p.AllTasks(), p.AllHandlers()...) {
			if t.Register != "" {
				c.registered[t.Register] = true
			}
		}
	}
	var diags hcl.Diagnostics
	if l.Cluster != nil {
		scope.Vars = union(scope.Vars, roleVars(l.Cluster))
		diags = append(diags, c.variables(l.Cluster, scope.Vars)...)
	}
	seenRole := map[string]bool{}
	for _, p := range pb.Plays {
		vars := union(scope.Vars, keys(p.Vars))
		for _, r := range p.Roles {
			rv := union(vars, roleVars(r))
			if !seenRole[r.Name] {
				diags = append(diags, c.variables(r, rv)...)
			}
			seenRole[r.Name] = true
			for _, t := range append(append([]*Task{}, r.Tasks...), r.Handlers...) {
				diags = append(diags, l.checkTask(c, t, rv)...)
			}
		}
		for _, t := range append(append([]*Task{}, p.Tasks...), p.Handlers...) {
			diags = append(diags, l.checkTask(c, t, vars)...)
		}
	}
	return dedupe(diags)
}

// refChecker holds the names that references are checked against, but the variables,
// which depend on the play and role.
type refChecker struct {
	registered    map[string]bool
	groups, hosts []string
}

// variables checks the defaults and validation conditions of a role's variables.
func (c *refChecker) variables(r *Role, vars map[string]bool) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, name := range r.VarOrder {
		v := r.Variables[name]
		if v.Default != nil {
			diags = append(diags, c.expr(v.Default, vars, false)...)
		}
		for _, val := range v.Validation {
			diags = append(diags, c.expr(val.Condition, vars, false)...)
		}
	}
	return diags
}

func (l *Loader) checkTask(c *refChecker, t *Task, vars map[string]bool) hcl.Diagnostics {
	loop := t.ForEach != nil
	var diags hcl.Diagnostics
	exprs := []hcl.Expression{t.When, t.ForEach, t.ChangedWhen, t.FailedWhen, t.Until, t.DelegateTo, t.Environment}
	if t.Block != nil {
		exprs = append(exprs, t.Block.When)
	}
	for _, e := range exprs {
		if e != nil {
			diags = append(diags, c.expr(e, vars, loop && e != t.ForEach)...)
		}
	}
	for _, name := range sortedArgs(t.Args) {
		at := t.Args[name]
		diags = append(diags, c.expr(at.Expr, vars, loop)...)
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
				diags = append(diags, c.expr(tmpl.Expr, vars, loop)...)
			}
		}
	}
	return diags
}

// expr checks the references of e. loop says whether each.* exists.
func (c *refChecker) expr(e hcl.Expression, vars map[string]bool, loop bool) hcl.Diagnostics {
	diags := checkFunctions(e)
	for _, tr := range e.Variables() {
		if d := c.traversal(tr, vars, loop); d != nil {
			diags = append(diags, d)
		}
	}
	return diags
}

// traversal checks one reference; a reference by a computed name passes.
func (c *refChecker) traversal(tr hcl.Traversal, vars map[string]bool, loop bool) *hcl.Diagnostic {
	root := tr.RootName()
	name, named := attrName(tr)
	switch {
	case Roots[root] == "":
		return unknownName("Unknown name",
			fmt.Sprintf("%q is not something an expression can refer to.", root),
			root, sortedKeys(Roots), tr.SourceRange())
	case root == "each" && !loop:
		return &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "each outside for_each",
			Detail:   "each.key and each.value exist only in a task that has for_each.",
			Subject:  tr.SourceRange().Ptr(),
		}
	case !named:
		return nil
	case root == "var" && !vars[name]:
		return unknownName("Undefined variable",
			fmt.Sprintf("No variable %q is declared by this role, set by the play, "+
				"the inventory or -e.", name),
			name, sortedKeys(vars), tr.SourceRange())
	case root == "registered" && !c.registered[name]:
		return unknownName("Unknown registered result", fmt.Sprintf("No task registers %q.", name),
			name, sortedKeys(c.registered), tr.SourceRange())
	case root == "groups" && c.groups != nil && !slices.Contains(c.groups, name):
		return unknownName("Unknown group",
			fmt.Sprintf("No group named %q is declared in the inventory.", name),
			name, c.groups, tr[1].SourceRange())
	case root == "hosts" && c.hosts != nil && !slices.Contains(c.hosts, name):
		return unknownName("Unknown host",
			fmt.Sprintf("No host named %q is declared in the inventory.", name),
			name, c.hosts, tr[1].SourceRange())
	}
	return nil
}

func unknownName(summary, detail, name string, candidates []string, at hcl.Range) *hcl.Diagnostic {
	if s := NameSuggestion(name, candidates); s != "" {
		detail += fmt.Sprintf(" Did you mean %q?", s)
	}
	return &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary, Detail: detail, Subject: at.Ptr()}
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
