package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// Playbook is an ordered list of plays read from one file.
type Playbook struct {
	Path  string
	Plays []*Play
}

// Play maps a host pattern to roles and tasks.
type Play struct {
	Name       string
	DeclRange  hcl.Range
	Hosts      string
	HostsRange hcl.Range
	Roles      []*Role
	// Tasks are the play's own tasks; they run after its roles' tasks.
	Tasks    []*Task
	Handlers []*Task
	Vars     Values
	Tags     []string
	Become   *bool
	// GatherFacts is true unless the play turns it off.
	GatherFacts    bool
	AnyErrorsFatal bool
	// Serial splits the play's hosts into batches that run the whole play one after the
	// other: each entry is a count ("2") or a share ("50%"); the last repeats. Empty means
	// one batch of every host.
	Serial []string
	// MaxFailPercentage stops the play when more than this share of a batch has failed;
	// negative means no limit.
	MaxFailPercentage int
}

// AllTasks returns the play's tasks in the order they run: each role's, then the play's own.
func (p *Play) AllTasks() []*Task {
	var out []*Task
	for _, r := range p.Roles {
		out = append(out, r.Tasks...)
	}
	return append(out, p.Tasks...)
}

// AllHandlers returns the handlers the play's tasks may notify, in definition order.
func (p *Play) AllHandlers() []*Task {
	var out []*Task
	for _, r := range p.Roles {
		out = append(out, r.Handlers...)
	}
	return append(out, p.Handlers...)
}

// Loader loads playbooks and the roles they use. Roles are loaded once and shared.
type Loader struct {
	Parser    *Parser
	Modules   Modules
	Roles     RoleSource
	roles     map[string]*Role
	templates map[string]*Template
	// mu guards templates and the parser's files: templates load while hosts run.
	mu sync.Mutex
	// playbookRole stands for the playbook's directory when a play's own task renders a
	// template: it finds templates/ beside the playbook.
	playbookRole *Role
	// Cluster holds the cluster variables (see LoadClusterVars), nil without any.
	Cluster *Role
}

// PlaybookRole is the pseudo-role of a play's own tasks: the playbook's directory.
func (l *Loader) PlaybookRole() *Role { return l.playbookRole }

// NewLoader returns a loader for the given modules and role source.
func NewLoader(mods Modules, roles RoleSource) *Loader {
	return &Loader{Parser: NewParser(), Modules: mods, Roles: roles, roles: map[string]*Role{}, templates: map[string]*Template{}}
}

var playbookSchema = &hcl.BodySchema{
	Blocks: []hcl.BlockHeaderSchema{{Type: "play", LabelNames: []string{"name"}}},
}

var playSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "hosts", Required: true}, {Name: "roles"}, {Name: "vars"}, {Name: "tags"},
		{Name: "become"}, {Name: "gather_facts"}, {Name: "any_errors_fatal"},
		{Name: "serial"}, {Name: "max_fail_percentage"},
	},
	Blocks: []hcl.BlockHeaderSchema{
		{Type: "task", LabelNames: []string{"name"}},
		{Type: "handler", LabelNames: []string{"name"}},
		{Type: "block", LabelNames: []string{"name"}},
	},
}

// LoadPlaybook reads a playbook and every role it names. When the loader has no role
// directory yet, roles/ beside the playbook is used.
func (l *Loader) LoadPlaybook(path string) (*Playbook, hcl.Diagnostics) {
	if l.Roles.Dir == "" {
		l.Roles.Dir = filepath.Join(filepath.Dir(path), "roles")
	}
	pb := &Playbook{Path: path}
	dir := filepath.Dir(path)
	l.playbookRole = &Role{Name: "playbook", FS: os.DirFS(dir), Origin: dir, Variables: map[string]*Variable{}}
	file, diags := l.Parser.ParseFile(path)
	if file == nil || diags.HasErrors() {
		return pb, diags
	}
	content, d := file.Body.Content(playbookSchema)
	diags = append(diags, d...)
	names := map[string]hcl.Range{}
	for _, b := range content.Blocks {
		if prev, dup := names[b.Labels[0]]; dup {
			diags = append(diags, duplicate("play", b.Labels[0], b.DefRange, prev))
		}
		names[b.Labels[0]] = b.DefRange
		p, d := l.decodePlay(b)
		diags = append(diags, d...)
		pb.Plays = append(pb.Plays, p)
	}
	if len(content.Blocks) == 0 && !diags.HasErrors() {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "No plays",
			Detail:   fmt.Sprintf("%s has no play blocks: nothing would run.", path),
			Subject:  file.Body.MissingItemRange().Ptr(),
		})
	}
	return pb, diags
}

func (l *Loader) decodePlay(b *hcl.Block) (*Play, hcl.Diagnostics) {
	p := &Play{Name: b.Labels[0], DeclRange: b.DefRange, GatherFacts: true, MaxFailPercentage: -1}
	content, diags := b.Body.Content(playSchema)
	a := content.Attributes
	if at := a["hosts"]; at != nil {
		diags = append(diags, literal(at, &p.Hosts)...)
		p.HostsRange = at.Expr.Range()
	}
	var roles []string
	diags = append(diags, literal(a["roles"], &roles)...)
	vars, d := DecodeVars(a["vars"])
	diags = append(diags, d...)
	p.Vars = vars
	diags = append(diags, literal(a["tags"], &p.Tags)...)
	diags = append(diags, literal(a["gather_facts"], &p.GatherFacts)...)
	diags = append(diags, literal(a["any_errors_fatal"], &p.AnyErrorsFatal)...)
	diags = append(diags, decodeSerial(a["serial"], p)...)
	if at := a["max_fail_percentage"]; at != nil {
		diags = append(diags, literal(at, &p.MaxFailPercentage)...)
		if p.MaxFailPercentage < 0 || p.MaxFailPercentage > 100 {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid value",
				Detail: "max_fail_percentage is between 0 and 100.", Subject: at.Expr.Range().Ptr()})
		}
	}
	if at := a["become"]; at != nil {
		var v bool
		diags = append(diags, literal(at, &v)...)
		p.Become = &v
	}
	for _, name := range roles {
		r, d := l.LoadRole(name, a["roles"].Expr.Range())
		diags = append(diags, d...)
		if r != nil {
			p.Roles = append(p.Roles, r)
		}
	}
	for _, tb := range content.Blocks {
		if tb.Type == "block" {
			_, tasks, d := decodeBlock(tb, l.Modules, nil)
			diags = append(diags, d...)
			p.Tasks = append(p.Tasks, tasks...)
			continue
		}
		t, d := decodeTask(tb, l.Modules, tb.Type == "handler")
		diags = append(diags, d...)
		if t.Handler {
			p.Handlers = append(p.Handlers, t)
		} else {
			p.Tasks = append(p.Tasks, t)
		}
	}
	diags = append(diags, checkNotify(p.Tasks, p.Handlers, p.AllHandlers())...)
	return p, diags
}

// decodeSerial reads serial = 2, serial = "30%" or serial = [1, "50%"].
func decodeSerial(at *hcl.Attribute, p *Play) hcl.Diagnostics {
	if at == nil {
		return nil
	}
	v, diags := at.Expr.Value(StaticContext())
	if diags.HasErrors() {
		return diags
	}
	var items []cty.Value
	if v.Type().IsTupleType() || v.Type().IsListType() {
		items = v.AsValueSlice()
	} else {
		items = []cty.Value{v}
	}
	bad := &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid serial",
		Detail:  "serial is a host count (2), a share of the play's hosts (\"50%\"), or a list of them ([1, \"50%\"]).",
		Subject: at.Expr.Range().Ptr()}
	for _, it := range items {
		s, err := convert.Convert(it, cty.String)
		if err != nil || s.IsNull() || !validBatch(s.AsString()) {
			return hcl.Diagnostics{bad}
		}
		p.Serial = append(p.Serial, s.AsString())
	}
	if len(p.Serial) == 0 {
		return hcl.Diagnostics{bad}
	}
	return nil
}

func validBatch(s string) bool {
	n, err := strconv.Atoi(strings.TrimSuffix(s, "%"))
	return err == nil && n > 0 && (!strings.HasSuffix(s, "%") || n <= 100)
}
