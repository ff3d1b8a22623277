package config

import (
	"fmt"
	"path"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

// ModuleSpec is what config needs to know of a module to check a task statically: the
// arguments it takes. Modules themselves live in package modules, which registers a spec for
// each; config depends only on this description.
type ModuleSpec struct {
	Name string
	Args []ArgSpec
	// Validate, when set, checks the decoded arguments further (a template that must exist,
	// two arguments that exclude each other). It sees only what can be known without a host.
	Validate func(task *Task) hcl.Diagnostics
}

// ArgSpec describes one argument of a module.
type ArgSpec struct {
	Name     string
	Type     cty.Type // cty.DynamicPseudoType accepts any value
	Required bool
	Doc      string
	// Template marks a path of a template in the role's templates/ directory: a literal
	// value is checked to exist and its variable references are checked like the task's.
	Template bool
	// AbsPath marks a path that must be absolute: a relative one would land in kplay's
	// working directory on the deploy host and in the login directory on a node.
	AbsPath bool
}

// Modules is the set of modules a loader knows, by name.
type Modules map[string]*ModuleSpec

func (m Modules) schema() *hcl.BodySchema {
	s := &hcl.BodySchema{}
	for name := range m {
		s.Blocks = append(s.Blocks, hcl.BlockHeaderSchema{Type: name})
	}
	return s
}

func (s *ModuleSpec) schema() *hcl.BodySchema {
	bs := &hcl.BodySchema{}
	for _, a := range s.Args {
		bs.Attributes = append(bs.Attributes, hcl.AttributeSchema{Name: a.Name, Required: a.Required})
	}
	return bs
}

// Arg returns the spec of the named argument, or nil.
func (s *ModuleSpec) Arg(name string) *ArgSpec {
	for i := range s.Args {
		if s.Args[i].Name == name {
			return &s.Args[i]
		}
	}
	return nil
}

// CheckValue checks what the type cannot: that an AbsPath argument is absolute. The runner
// calls it on evaluated values, the loader on values known without a host.
func (a *ArgSpec) CheckValue(v cty.Value) error {
	if a == nil || !a.AbsPath || v.IsNull() || !v.IsKnown() || v.Type() != cty.String {
		return nil
	}
	if p := v.AsString(); !path.IsAbs(p) {
		return fmt.Errorf("argument %q must be an absolute path, not %q", a.Name, p)
	}
	return nil
}
