package config

import (
	"github.com/hashicorp/hcl/v2"

	"github.com/kplay-dev/kplay/engine/eval/funcs"
)

// StaticContext is the evaluation context of values that must not depend on a host: the
// functions without any variables. File functions resolve against the working directory.
func StaticContext() *hcl.EvalContext {
	return &hcl.EvalContext{Functions: funcs.Table(funcs.Options{})}
}
