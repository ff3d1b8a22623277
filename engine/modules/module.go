// Package modules holds what a task can do: one file per module, each declaring its
// arguments and carrying them out on one host through a Target.
//
// A module is idempotent and honest: it finds out whether anything needs to change, says
// so in Result.Changed, and in check mode stops there. Modules do not decide retries,
// conditions, loops or output; the runner does. Modules that work on the deploy host's own
// files (download, unarchive, pki) run in-process and refuse any other host.
package modules

import (
	"context"
	"fmt"
	"io/fs"
	"sort"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/kplay-dev/kplay/engine/config"
	"github.com/kplay-dev/kplay/engine/eval"
)

// Module is one kind of task action.
type Module interface {
	Spec() *config.ModuleSpec
	// Run carries out the call. An error means the task failed on this host (or, if it is a
	// connection.UnreachableError, that the host was lost); a Result returned beside an
	// error is still registered, so a failed command's output can be inspected.
	Run(ctx context.Context, c *Call) (*Result, error)
}

// Call is one run of a module on one host.
type Call struct {
	Target *Target
	Args   Args
	Check  bool
	Diff   bool
	Task   *config.Task
	// Scope is the task's evaluation scope, for modules that evaluate expressions
	// themselves (assert) or render templates.
	Scope *eval.Scope
	// Template renders a role's template with the task's scope.
	Template func(src string, extra map[string]cty.Value) (string, error)
	// Source returns the bytes of a configuration file, for quoting an expression.
	Source func(filename string) []byte
	// Redact hides sensitive values in what the module reports.
	Redact func(string) string
}

// Result is what a module reports.
type Result struct {
	Changed bool
	// Skipped is set when the module decided not to act (check mode for a command).
	Skipped bool
	Msg     string
	RC      *int
	Stdout  string
	Stderr  string
	Diffs   []Diff
	// Data holds module-specific values, registered beside the common ones.
	Data map[string]cty.Value
}

// Diff is a file's content before and after a change.
type Diff struct {
	Path   string
	Before string
	After  string
	// Note replaces the content when it is not worth showing (binary, too large).
	Note string
}

var registry = map[string]Module{}

// Register adds m. Registering a name twice is a programming error.
func Register(m Module) {
	name := m.Spec().Name
	if _, dup := registry[name]; dup {
		panic(fmt.Sprintf("modules: %q registered twice", name))
	}
	registry[name] = m
}

// Lookup returns the named module.
func Lookup(name string) (Module, bool) {
	m, ok := registry[name]
	return m, ok
}

// Specs returns the spec of every registered module, for config.
func Specs() config.Modules {
	out := config.Modules{}
	for name, m := range registry {
		out[name] = m.Spec()
	}
	return out
}

// Names lists the registered modules in order.
func Names() []string {
	var out []string
	for n := range registry {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// roleFile opens a file of the task's role (files/NAME) when src is relative and the role
// has it; nil otherwise.
func roleFS(t *config.Task) fs.FS {
	if t == nil || t.Role == nil {
		return nil
	}
	return t.Role.FS
}

func argError(t *config.Task, name, msg string) hcl.Diagnostics {
	rng := t.ModuleRange
	if a := t.Args[name]; a != nil {
		rng = a.Expr.Range()
	}
	return hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Invalid module argument", Detail: msg, Subject: rng.Ptr()}}
}
