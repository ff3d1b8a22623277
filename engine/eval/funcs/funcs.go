// Package funcs is the function library of kplay expressions: go-cty's standard library
// plus the functions Terraform users reach for (file, templatefile, cidrhost, base64encode,
// sha256, jsonencode, try, can, ...) and shellquote for anything pasted into a command line.
package funcs

import (
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/tryfunc"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"

	"github.com/kplay-dev/kplay/engine/internal/hclsafe"
)

// Options say where file functions look.
type Options struct {
	// BaseDir is where relative paths given to file and templatefile start; empty means the
	// working directory.
	BaseDir string
}

// Table returns every function by name. The table is new on each call; callers may add to it.
func Table(opts Options) map[string]function.Function {
	t := map[string]function.Function{
		"abs": stdlib.AbsoluteFunc, "ceil": stdlib.CeilFunc, "floor": stdlib.FloorFunc,
		"max": stdlib.MaxFunc, "min": stdlib.MinFunc, "parseint": stdlib.ParseIntFunc,
		"chomp": stdlib.ChompFunc, "format": stdlib.FormatFunc, "formatlist": stdlib.FormatListFunc,
		"indent": stdlib.IndentFunc, "join": stdlib.JoinFunc, "lower": stdlib.LowerFunc,
		"upper": stdlib.UpperFunc, "replace": stdlib.ReplaceFunc, "split": stdlib.SplitFunc,
		"strrev": stdlib.ReverseFunc, "substr": stdlib.SubstrFunc, "title": stdlib.TitleFunc,
		"trim": stdlib.TrimFunc, "trimprefix": stdlib.TrimPrefixFunc, "trimsuffix": stdlib.TrimSuffixFunc,
		"trimspace": stdlib.TrimSpaceFunc, "regex": stdlib.RegexFunc, "regexall": stdlib.RegexAllFunc,
		"chunklist": stdlib.ChunklistFunc, "coalesce": stdlib.CoalesceFunc, "coalescelist": stdlib.CoalesceListFunc,
		"compact": stdlib.CompactFunc, "concat": stdlib.ConcatFunc, "contains": stdlib.ContainsFunc,
		"distinct": stdlib.DistinctFunc, "element": stdlib.ElementFunc, "flatten": stdlib.FlattenFunc,
		"index": indexOfFunc, "keys": stdlib.KeysFunc, "length": stdlib.LengthFunc,
		"lookup": stdlib.LookupFunc, "merge": stdlib.MergeFunc, "range": stdlib.RangeFunc,
		"reverse": stdlib.ReverseListFunc, "setintersection": stdlib.SetIntersectionFunc,
		"setunion": stdlib.SetUnionFunc, "setsubtract": stdlib.SetSubtractFunc, "slice": stdlib.SliceFunc,
		"sort": stdlib.SortFunc, "values": stdlib.ValuesFunc, "zipmap": stdlib.ZipmapFunc,
		"tostring": stdlib.MakeToFunc(cty.String), "tonumber": stdlib.MakeToFunc(cty.Number),
		"tobool": stdlib.MakeToFunc(cty.Bool), "toset": stdlib.MakeToFunc(cty.Set(cty.DynamicPseudoType)),
		"tolist":     stdlib.MakeToFunc(cty.List(cty.DynamicPseudoType)),
		"tomap":      stdlib.MakeToFunc(cty.Map(cty.DynamicPseudoType)),
		"jsonencode": stdlib.JSONEncodeFunc, "jsondecode": stdlib.JSONDecodeFunc,
		"csvdecode": stdlib.CSVDecodeFunc, "formatdate": stdlib.FormatDateFunc,
		"timeadd": stdlib.TimeAddFunc, "unixtime": unixTimeFunc, "try": tryfunc.TryFunc, "can": tryfunc.CanFunc,
		"base64encode": stringFunc(func(s string) (string, error) {
			return base64.StdEncoding.EncodeToString([]byte(s)), nil
		}),
		"base64decode": stringFunc(func(s string) (string, error) {
			b, err := base64.StdEncoding.DecodeString(s)
			return string(b), err
		}),
		"sha256": stringFunc(func(s string) (string, error) {
			sum := sha256.Sum256([]byte(s))
			return hex.EncodeToString(sum[:]), nil
		}),
		"sha512": stringFunc(func(s string) (string, error) {
			sum := sha512.Sum512([]byte(s))
			return hex.EncodeToString(sum[:]), nil
		}),
		"shellquote":   stringFunc(func(s string) (string, error) { return ShellQuote(s), nil }),
		"basename":     stringFunc(func(s string) (string, error) { return path.Base(s), nil }),
		"dirname":      stringFunc(func(s string) (string, error) { return path.Dir(s), nil }),
		"strcontains":  stringPredicate(strings.Contains),
		"alltrue":      boolFold(true),
		"anytrue":      boolFold(false),
		"startswith":   stringPredicate(strings.HasPrefix),
		"endswith":     stringPredicate(strings.HasSuffix),
		"cidrcontains": cidrContainsFunc,
		"cidrhost":     cidrHostFunc,
		"cidrsubnet":   cidrSubnetFunc,
		"cidrnetmask":  cidrNetmaskFunc,
	}
	t["file"] = fileFunc(opts)
	t["fileexists"] = fileExistsFunc(opts)
	t["templatefile"] = templateFileFunc(opts, t)
	return t
}

// ShellQuote quotes s as one word for a POSIX shell.
func ShellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:,@+%") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func stringFunc(fn func(string) (string, error)) function.Function {
	return function.New(&function.Spec{
		Params: []function.Parameter{{Name: "str", Type: cty.String}},
		Type:   function.StaticReturnType(cty.String),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			s, err := fn(args[0].AsString())
			if err != nil {
				return cty.UnknownVal(cty.String), err
			}
			return cty.StringVal(s), nil
		},
	})
}

func resolve(opts Options, p string) string {
	if filepath.IsAbs(p) || opts.BaseDir == "" {
		return p
	}
	return filepath.Join(opts.BaseDir, p)
}

func fileFunc(opts Options) function.Function {
	return function.New(&function.Spec{
		Params: []function.Parameter{{Name: "path", Type: cty.String}},
		Type:   function.StaticReturnType(cty.String),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			b, err := os.ReadFile(resolve(opts, args[0].AsString()))
			if err != nil {
				return cty.UnknownVal(cty.String), err
			}
			return cty.StringVal(string(b)), nil
		},
	})
}

func templateFileFunc(opts Options, table map[string]function.Function) function.Function {
	return function.New(&function.Spec{
		Params: []function.Parameter{
			{Name: "path", Type: cty.String},
			{Name: "vars", Type: cty.DynamicPseudoType},
		},
		Type: function.StaticReturnType(cty.String),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			p := resolve(opts, args[0].AsString())
			src, err := os.ReadFile(p)
			if err != nil {
				return cty.UnknownVal(cty.String), err
			}
			vars := map[string]cty.Value{}
			if v := args[1]; !v.IsNull() && (v.Type().IsObjectType() || v.Type().IsMapType()) && v.LengthInt() > 0 {
				vars = v.AsValueMap()
			}
			return RenderTemplate(src, p, &hcl.EvalContext{Variables: vars, Functions: table})
		},
	})
}

// RenderTemplate renders src, HCL template syntax, in ctx. name is what errors cite.
func RenderTemplate(src []byte, name string, ctx *hcl.EvalContext) (cty.Value, error) {
	if diags := hclsafe.CheckTemplate(src, name); diags.HasErrors() {
		return cty.UnknownVal(cty.String), diags
	}
	expr, diags := hclsyntax.ParseTemplate(src, name, hcl.InitialPos)
	if diags.HasErrors() {
		return cty.UnknownVal(cty.String), diags
	}
	v, diags := expr.Value(ctx)
	if diags.HasErrors() {
		return cty.UnknownVal(cty.String), diags
	}
	if v.Type() != cty.String || v.IsNull() {
		return cty.UnknownVal(cty.String), fmt.Errorf("template %s did not produce a string", name)
	}
	return v, nil
}

func stringPredicate(fn func(s, affix string) bool) function.Function {
	return function.New(&function.Spec{
		Params: []function.Parameter{{Name: "str", Type: cty.String}, {Name: "affix", Type: cty.String}},
		Type:   function.StaticReturnType(cty.Bool),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			return cty.BoolVal(fn(args[0].AsString(), args[1].AsString())), nil
		},
	})
}

// fileExistsFunc tells whether a file exists on the deploy host, as Terraform's fileexists.
func fileExistsFunc(opts Options) function.Function {
	return function.New(&function.Spec{
		Params: []function.Parameter{{Name: "path", Type: cty.String}},
		Type:   function.StaticReturnType(cty.Bool),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			st, err := os.Stat(resolve(opts, args[0].AsString()))
			return cty.BoolVal(err == nil && st.Mode().IsRegular()), nil
		},
	})
}

// boolFold is alltrue (all) or anytrue (!all) over a list of bools, as in Terraform.
func boolFold(all bool) function.Function {
	return function.New(&function.Spec{
		Params: []function.Parameter{{Name: "list", Type: cty.List(cty.Bool)}},
		Type:   function.StaticReturnType(cty.Bool),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			for it := args[0].ElementIterator(); it.Next(); {
				_, v := it.Element()
				if v.IsNull() {
					return cty.False, nil
				}
				if v.True() != all {
					return cty.BoolVal(!all), nil
				}
			}
			return cty.BoolVal(all), nil
		},
	})
}

// indexOfFunc is Terraform's index(list, value): the position of value in list. go-cty's
// function of that name looks an element up instead, which is what [] is for.
var indexOfFunc = function.New(&function.Spec{
	Params: []function.Parameter{
		{Name: "list", Type: cty.DynamicPseudoType},
		{Name: "value", Type: cty.DynamicPseudoType},
	},
	Type: function.StaticReturnType(cty.Number),
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		list := args[0]
		if !(list.Type().IsListType() || list.Type().IsTupleType()) {
			return cty.UnknownVal(cty.Number), fmt.Errorf("index needs a list, not %s", list.Type().FriendlyName())
		}
		i := 0
		for it := list.ElementIterator(); it.Next(); i++ {
			_, v := it.Element()
			if eq := v.Equals(args[1]); eq.IsKnown() && eq.True() {
				return cty.NumberIntVal(int64(i)), nil
			}
		}
		return cty.UnknownVal(cty.Number), fmt.Errorf("%s is not in the list", args[1].GoString())
	},
})

// unixTimeFunc is the deploy host's clock in seconds, for comparing a node's clock with it.
// It is read when the expression is evaluated, so it is not a constant of the run.
var unixTimeFunc = function.New(&function.Spec{
	Type: function.StaticReturnType(cty.Number),
	Impl: func([]cty.Value, cty.Type) (cty.Value, error) {
		return cty.NumberIntVal(time.Now().Unix()), nil
	},
})
