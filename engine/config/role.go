package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"

	"github.com/hashicorp/hcl/v2"
)

// Role is a directory of HCL files: variables, tasks and handlers, with templates/ and
// files/ beside them.
type Role struct {
	Name string
	// FS is rooted at the role's directory.
	FS fs.FS
	// Origin says where the role came from, for messages: a path on disk, or
	// "embedded/roles/NAME" for one built into kplay.
	Origin    string
	Variables map[string]*Variable
	// VarOrder keeps the variables in the order they were declared, for docs and explain.
	VarOrder []string
	Tasks    []*Task
	Handlers []*Task
	// Shared marks the cluster variables (LoadClusterVars): a set of variables, not a role.
	Shared bool
}

// RoleSource finds roles by name: first in a directory on disk, then in an embedded tree.
type RoleSource struct {
	// Dir is the roles/ directory beside the playbook; it may not exist.
	Dir string
	// Embedded holds the roles built into the binary, one directory per role.
	Embedded fs.FS
}

// find returns the role's file system and its name for messages.
func (s RoleSource) find(name string) (fs.FS, string, error) {
	if s.Dir != "" {
		dir := filepath.Join(s.Dir, name)
		if st, err := os.Stat(dir); err == nil && st.IsDir() {
			return os.DirFS(dir), dir, nil
		}
	}
	if s.Embedded != nil {
		if st, err := fs.Stat(s.Embedded, name); err == nil && st.IsDir() {
			sub, err := fs.Sub(s.Embedded, name)
			return sub, path.Join("embedded/roles", name), err
		}
	}
	return nil, "", fs.ErrNotExist
}

// Names lists every role the source can find, disk first, without duplicates.
func (s RoleSource) Names() []string {
	seen := map[string]bool{}
	var names []string
	add := func(fsys fs.FS) {
		entries, _ := fs.ReadDir(fsys, ".")
		for _, e := range entries {
			if e.IsDir() && !seen[e.Name()] {
				seen[e.Name()] = true
				names = append(names, e.Name())
			}
		}
	}
	if s.Dir != "" {
		add(os.DirFS(s.Dir))
	}
	if s.Embedded != nil {
		add(s.Embedded)
	}
	return names
}

var roleSchema = &hcl.BodySchema{
	Blocks: []hcl.BlockHeaderSchema{
		{Type: "variable", LabelNames: []string{"name"}},
		{Type: "task", LabelNames: []string{"name"}},
		{Type: "handler", LabelNames: []string{"name"}},
		{Type: "block", LabelNames: []string{"name"}},
	},
}

// LoadRole reads the named role. ref is where the playbook names it, for the error when the
// role does not exist.
func (l *Loader) LoadRole(name string, ref hcl.Range) (*Role, hcl.Diagnostics) {
	if r, ok := l.roles[name]; ok {
		return r, nil
	}
	fsys, origin, err := l.Roles.find(name)
	if err != nil {
		return nil, l.missingRole(name, ref, err)
	}
	r := &Role{Name: name, FS: fsys, Origin: origin, Variables: map[string]*Variable{}}
	files, err := hclFiles(fsys, ".")
	if err != nil {
		return nil, l.missingRole(name, ref, err)
	}
	var diags hcl.Diagnostics
	for _, f := range files {
		diags = append(diags, l.loadRoleFile(r, f)...)
	}
	diags = append(diags, checkNotify(r.Tasks, r.Handlers, nil)...)
	diags = append(diags, l.loadTemplates(r)...)
	diags = append(diags, l.checkClusterShadowing(r)...)
	l.roles[name] = r
	return r, diags
}

func (l *Loader) loadRoleFile(r *Role, name string) hcl.Diagnostics {
	file, diags := l.Parser.ParseFS(r.FS, name, path.Join(r.Origin, name))
	if file == nil || diags.HasErrors() {
		return diags
	}
	content, d := file.Body.Content(roleSchema)
	diags = append(diags, d...)
	for _, b := range content.Blocks {
		switch b.Type {
		case "variable":
			v, d := decodeVariable(b)
			diags = append(diags, d...)
			if prev, dup := r.Variables[v.Name]; dup {
				diags = append(diags, duplicate("variable", v.Name, b.DefRange, prev.DeclRange))
				continue
			}
			r.Variables[v.Name] = v
			r.VarOrder = append(r.VarOrder, v.Name)
		case "block":
			_, tasks, d := decodeBlock(b, l.Modules, r)
			diags = append(diags, d...)
			r.Tasks = append(r.Tasks, tasks...)
		case "task", "handler":
			t, d := decodeTask(b, l.Modules, b.Type == "handler")
			diags = append(diags, d...)
			t.Role = r
			if t.Handler {
				r.Handlers = append(r.Handlers, t)
			} else {
				r.Tasks = append(r.Tasks, t)
			}
		}
	}
	return diags
}

func (l *Loader) missingRole(name string, ref hcl.Range, err error) hcl.Diagnostics {
	detail := fmt.Sprintf("No role %q was found", name)
	if l.Roles.Dir != "" {
		detail += fmt.Sprintf(" in %s or", l.Roles.Dir)
	}
	detail += " among the roles built into kplay."
	if !errors.Is(err, fs.ErrNotExist) {
		detail = fmt.Sprintf("Reading role %q failed: %v.", name, err)
	}
	if s := NameSuggestion(name, l.Roles.Names()); s != "" {
		detail += fmt.Sprintf(" Did you mean %q?", s)
	}
	return hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Role not found", Detail: detail, Subject: ref.Ptr()}}
}

func duplicate(kind, name string, at, prev hcl.Range) *hcl.Diagnostic {
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Duplicate " + kind,
		Detail:   fmt.Sprintf("A %s named %q was already declared at %s.", kind, name, prev),
		Subject:  at.Ptr(),
	}
}

// checkNotify makes sure every notify names a handler that exists; extra are handlers
// visible from elsewhere (a play's own handlers, for its roles' tasks).
func checkNotify(tasks, handlers, extra []*Task) hcl.Diagnostics {
	names := map[string]bool{}
	var list []string
	for _, h := range append(append([]*Task{}, handlers...), extra...) {
		names[h.Name] = true
		list = append(list, h.Name)
	}
	var diags hcl.Diagnostics
	for _, t := range append(append([]*Task{}, tasks...), handlers...) {
		for _, n := range t.Notify {
			if names[n.Name] {
				continue
			}
			detail := fmt.Sprintf("Task %q notifies %q, but no handler has that name.", t.Name, n.Name)
			if s := NameSuggestion(n.Name, list); s != "" {
				detail += fmt.Sprintf(" Did you mean %q?", s)
			}
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError, Summary: "Unknown handler", Detail: detail, Subject: n.Range.Ptr(),
			})
		}
	}
	return diags
}

var clusterVarsSchema = &hcl.BodySchema{
	Blocks: []hcl.BlockHeaderSchema{{Type: "variable", LabelNames: []string{"name"}}},
}

// LoadClusterVars reads a file of variable blocks that every role and play sees: the
// settings several roles share (the service network, the stage directory, ...), declared
// and documented once so their defaults cannot drift apart. Load it before the playbook:
// a role may not declare one of these again.
func (l *Loader) LoadClusterVars(fsys fs.FS, path, name string) hcl.Diagnostics {
	r := &Role{Name: "cluster", FS: fsys, Origin: name, Variables: map[string]*Variable{}, Shared: true}
	file, diags := l.Parser.ParseFS(fsys, path, name)
	if file == nil || diags.HasErrors() {
		return diags
	}
	content, d := file.Body.Content(clusterVarsSchema)
	diags = append(diags, d...)
	for _, b := range content.Blocks {
		v, d := decodeVariable(b)
		diags = append(diags, d...)
		if prev, dup := r.Variables[v.Name]; dup {
			diags = append(diags, duplicate("variable", v.Name, b.DefRange, prev.DeclRange))
			continue
		}
		r.Variables[v.Name] = v
		r.VarOrder = append(r.VarOrder, v.Name)
	}
	l.Cluster = r
	return diags
}

// checkClusterShadowing refuses a role variable that redeclares a cluster variable: two
// defaults for one setting would disagree sooner or later.
func (l *Loader) checkClusterShadowing(r *Role) hcl.Diagnostics {
	if l.Cluster == nil {
		return nil
	}
	var diags hcl.Diagnostics
	for _, name := range r.VarOrder {
		if cv := l.Cluster.Variables[name]; cv != nil {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Cluster variable declared again",
				Detail: fmt.Sprintf("%q is a cluster variable (%s): every role sees it already. "+
					"Remove this declaration, or set the value in the inventory.", name, cv.DeclRange),
				Subject: r.Variables[name].DeclRange.Ptr(),
			})
		}
	}
	return diags
}
