package config

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
	"github.com/zclconf/go-cty/cty/gocty"
)

// Task is one `task "name" { ... }` or `handler "name" { ... }` block: one module call plus
// the settings that decide whether, where, how often and as whom it runs.
type Task struct {
	Name      string
	DeclRange hcl.Range
	Handler   bool
	// Role is the role the task came from, nil for a task written in the playbook.
	Role *Role
	// Block is the block the task stands in, nil for most tasks; Section says where in it.
	Block   *Block
	Section Section

	Module      string
	ModuleRange hcl.Range
	// Args holds the module's arguments by name, unevaluated.
	Args map[string]*hcl.Attribute

	When        hcl.Expression
	ForEach     hcl.Expression
	ChangedWhen hcl.Expression
	FailedWhen  hcl.Expression
	Until       hcl.Expression
	DelegateTo  hcl.Expression
	Environment hcl.Expression

	Tags         []string
	Notify       []Ref
	Register     string
	Become       *bool
	RunOnce      bool
	IgnoreErrors bool
	Retries      int
	Delay        time.Duration
	Timeout      time.Duration
	// SerialItems runs the items of for_each one after the other; by default they run
	// side by side, as independent steps.
	SerialItems bool
	// RefreshFacts gathers the host's facts again after the task changed something, for a
	// task that changes what facts describe (a hostname, a package, swap).
	RefreshFacts bool
}

// Ref is a name written in the configuration, with where it was written.
type Ref struct {
	Name  string
	Range hcl.Range
}

// FullName is how output names the task: "role : name" for a role's task.
func (t *Task) FullName() string {
	if t.Role != nil {
		return t.Role.Name + " : " + t.Name
	}
	return t.Name
}

var taskSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "when"}, {Name: "for_each"}, {Name: "changed_when"}, {Name: "failed_when"},
		{Name: "until"}, {Name: "delegate_to"}, {Name: "environment"},
		{Name: "tags"}, {Name: "notify"}, {Name: "register"}, {Name: "become"},
		{Name: "run_once"}, {Name: "ignore_errors"}, {Name: "retries"}, {Name: "delay"},
		{Name: "timeout"}, {Name: "refresh_facts"}, {Name: "serial_items"},
	},
}

func decodeTask(block *hcl.Block, mods Modules, handler bool) (*Task, hcl.Diagnostics) {
	t := &Task{Name: block.Labels[0], DeclRange: block.DefRange, Handler: handler}
	schema := *taskSchema
	schema.Blocks = mods.schema().Blocks
	content, diags := block.Body.Content(&schema)

	if !hasSummary(diags, "Unsupported block type") {
		diags = append(diags, t.decodeModule(block, content.Blocks, mods)...)
	}
	a := content.Attributes
	t.When = expr(a, "when")
	t.ForEach = expr(a, "for_each")
	t.ChangedWhen = expr(a, "changed_when")
	t.FailedWhen = expr(a, "failed_when")
	t.Until = expr(a, "until")
	t.DelegateTo = expr(a, "delegate_to")
	t.Environment = expr(a, "environment")

	diags = append(diags, literal(a["tags"], &t.Tags)...)
	var notify []string
	diags = append(diags, literal(a["notify"], &notify)...)
	for _, n := range notify {
		t.Notify = append(t.Notify, Ref{Name: n, Range: a["notify"].Expr.Range()})
	}
	diags = append(diags, literal(a["register"], &t.Register)...)
	diags = append(diags, checkIdentifier(a["register"], t.Register)...)
	if at := a["become"]; at != nil {
		var b bool
		diags = append(diags, literal(at, &b)...)
		t.Become = &b
	}
	diags = append(diags, literal(a["run_once"], &t.RunOnce)...)
	diags = append(diags, literal(a["ignore_errors"], &t.IgnoreErrors)...)
	diags = append(diags, literal(a["retries"], &t.Retries)...)
	if t.Retries < 0 {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError, Summary: "Invalid value",
			Detail: "retries is how many more times to try: 0 or more.", Subject: a["retries"].Expr.Range().Ptr(),
		})
	}
	diags = append(diags, duration(a["delay"], &t.Delay)...)
	diags = append(diags, duration(a["timeout"], &t.Timeout)...)
	diags = append(diags, literal(a["refresh_facts"], &t.RefreshFacts)...)
	diags = append(diags, literal(a["serial_items"], &t.SerialItems)...)
	if t.Until != nil && t.Retries == 0 {
		t.Retries = 3
	}
	if a["delay"] == nil {
		t.Delay = time.Second
	}
	return t, diags
}

func (t *Task) decodeModule(block *hcl.Block, blocks hcl.Blocks, mods Modules) hcl.Diagnostics {
	if len(blocks) == 0 {
		return hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Missing module block",
			Detail: fmt.Sprintf("Task %q needs one module block saying what it does, such as "+
				"command { ... } or template { ... }. Known modules: %s.",
				t.Name, strings.Join(mods.Names(), ", ")),
			Subject: &block.DefRange,
		}}
	}
	if len(blocks) > 1 {
		return hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "More than one module block",
			Detail: fmt.Sprintf("A task runs one module; task %q has %q and %q. Split it into "+
				"two tasks.", t.Name, blocks[0].Type, blocks[1].Type),
			Subject: &blocks[1].DefRange,
		}}
	}
	mb := blocks[0]
	spec := mods[mb.Type]
	t.Module, t.ModuleRange = mb.Type, mb.DefRange
	content, diags := mb.Body.Content(spec.schema())
	t.Args = content.Attributes
	for name, at := range t.Args {
		diags = append(diags, checkArgType(spec.Arg(name), at)...)
	}
	if spec.Validate != nil && !diags.HasErrors() {
		diags = append(diags, spec.Validate(t)...)
	}
	return diags
}

// Names lists the module names in order.
func (m Modules) Names() []string {
	var names []string
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// checkArgType converts an argument whose value needs no variables to its declared type, so
// `mode = true` is an error at load, not on the third host.
func checkArgType(spec *ArgSpec, at *hcl.Attribute) hcl.Diagnostics {
	if len(at.Expr.Variables()) > 0 {
		return nil
	}
	v, diags := at.Expr.Value(StaticContext())
	if diags.HasErrors() || !v.IsWhollyKnown() || v.IsNull() {
		return nil // functions needing a host (file of a missing path...) fail at run time
	}
	if err := spec.CheckValue(v); err != nil {
		return hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Invalid value for module argument",
			Detail:   err.Error() + ".",
			Subject:  at.Expr.Range().Ptr(),
		}}
	}
	if spec.Type == cty.DynamicPseudoType {
		return nil
	}
	if _, err := convert.Convert(v, spec.Type); err != nil {
		return hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Invalid value for module argument",
			Detail:   fmt.Sprintf("Argument %q must be %s: %v.", spec.Name, spec.Type.FriendlyName(), err),
			Subject:  at.Expr.Range().Ptr(),
		}}
	}
	return nil
}

func expr(attrs hcl.Attributes, name string) hcl.Expression {
	if a := attrs[name]; a != nil {
		return a.Expr
	}
	return nil
}

// literal decodes an attribute that must not depend on any host into target.
func literal(at *hcl.Attribute, target any) hcl.Diagnostics {
	if at == nil {
		return nil
	}
	v, diags := at.Expr.Value(StaticContext())
	if diags.HasErrors() {
		return diags
	}
	if v.IsNull() {
		return nil
	}
	ty, err := gocty.ImpliedType(target)
	if err == nil {
		v, err = convert.Convert(v, ty)
	}
	if err == nil {
		err = gocty.FromCtyValue(v, target)
	}
	if err != nil {
		return hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Invalid value",
			Detail:   fmt.Sprintf("Argument %q: %v.", at.Name, err),
			Subject:  at.Expr.Range().Ptr(),
		}}
	}
	return nil
}

func duration(at *hcl.Attribute, target *time.Duration) hcl.Diagnostics {
	if at == nil {
		return nil
	}
	var s string
	if diags := literal(at, &s); diags.HasErrors() {
		return diags
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		// A bare number means seconds, as in Ansible.
		if n, err2 := strconv.ParseFloat(strings.TrimSpace(s), 64); err2 == nil && n >= 0 && !math.IsInf(n, 0) {
			*target = time.Duration(n * float64(time.Second))
			return nil
		}
		return hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Invalid duration",
			Detail:   fmt.Sprintf("Argument %q takes a duration such as \"5s\" or \"2m\": %v.", at.Name, err),
			Subject:  at.Expr.Range().Ptr(),
		}}
	}
	if d < 0 {
		return hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Invalid duration",
			Detail:   fmt.Sprintf("Argument %q cannot be negative.", at.Name),
			Subject:  at.Expr.Range().Ptr(),
		}}
	}
	*target = d
	return nil
}

func checkIdentifier(at *hcl.Attribute, name string) hcl.Diagnostics {
	if at == nil || name == "" || hclsyntaxValid(name) {
		return nil
	}
	return hcl.Diagnostics{{
		Severity: hcl.DiagError,
		Summary:  "Invalid name",
		Detail:   fmt.Sprintf("%q is not a valid name: use letters, digits and underscores.", name),
		Subject:  at.Expr.Range().Ptr(),
	}}
}

// DecodeLiteral decodes an attribute whose value must not depend on any host into target,
// a pointer to a Go value of the expected shape.
func DecodeLiteral(at *hcl.Attribute, target any) hcl.Diagnostics { return literal(at, target) }

func hasSummary(diags hcl.Diagnostics, summary string) bool {
	for _, d := range diags {
		if d.Summary == summary {
			return true
		}
	}
	return false
}
