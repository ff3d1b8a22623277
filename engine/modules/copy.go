package modules

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"path/filepath"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/kplay-dev/kplay/engine/config"
)

func init() {
	Register(copyModule{})
	Register(templateModule{})
}

var putArgs = []config.ArgSpec{
	{Name: "dest", Type: cty.String, AbsPath: true, Required: true, Doc: "Path on the host."},
	{Name: "mode", Type: cty.String, Doc: "Octal mode as a string; default \"0644\"."},
	{Name: "owner", Type: cty.String, Doc: "Owning user."},
	{Name: "group", Type: cty.String, Doc: "Owning group."},
}

// copyModule puts a file from the deploy host, or given content, on the host.
type copyModule struct{}

func (copyModule) Spec() *config.ModuleSpec {
	return &config.ModuleSpec{
		Name: "copy",
		Args: append([]config.ArgSpec{
			{Name: "src", Type: cty.String, Doc: "A file of the role's files/ directory, or an absolute path on the deploy host."},
			{Name: "content", Type: cty.String, Doc: "The file's content, instead of src."},
		}, putArgs...),
		Validate: func(t *config.Task) hcl.Diagnostics {
			if (t.Args["src"] == nil) == (t.Args["content"] == nil) {
				return argError(t, "src", "copy takes exactly one of src and content.")
			}
			return validateMode(t, "mode")
		},
	}
}

func (copyModule) Run(ctx context.Context, c *Call) (*Result, error) {
	mode, err := c.Args.Mode("mode", 0o644)
	if err != nil {
		return nil, err
	}
	var src *source
	if c.Args.Has("content") {
		src = bytesSource([]byte(c.Args.String("content", "")))
	} else if src, err = openSource(c, c.Args.String("src", "")); err != nil {
		if c.Check && filepath.IsAbs(c.Args.String("src", "")) && errors.Is(err, fs.ErrNotExist) {
			// An earlier task (a download, a certificate) would have made it.
			return &Result{Changed: true, Msg: "check mode: the source does not exist yet"}, nil
		}
		return nil, err
	}
	return put(ctx, c, c.Args.String("dest", ""), src, mode, c.Args.String("owner", ""), c.Args.String("group", ""))
}

// openSource finds src: a relative path is a file of the role's files/ directory; an
// absolute one a file on the deploy host.
func openSource(c *Call, src string) (*source, error) {
	if filepath.IsAbs(src) {
		return fileSource(src, c.Target.Sources)
	}
	if fsys := roleFS(c.Task); fsys != nil {
		s, err := fsSource(fsys, path.Join("files", src))
		if err == nil {
			return s, nil
		}
		if _, statErr := fs.Stat(fsys, path.Join("files", src)); statErr == nil {
			return nil, err
		}
		return nil, fmt.Errorf("role %s has no files/%s", c.Task.Role.Name, src)
	}
	return fileSource(src, c.Target.Sources)
}

// templateModule renders a role template on the deploy host and puts the result on the host.
type templateModule struct{}

func (templateModule) Spec() *config.ModuleSpec {
	return &config.ModuleSpec{
		Name: "template",
		Args: append([]config.ArgSpec{
			{Name: "src", Type: cty.String, Required: true, Template: true, Doc: "A template of the role's templates/ directory (HCL template syntax)."},
			{Name: "vars", Type: cty.DynamicPseudoType, Doc: "Extra values the template sees as top-level names."},
		}, putArgs...),
		Validate: func(t *config.Task) hcl.Diagnostics { return validateMode(t, "mode") },
	}
}

func (templateModule) Run(ctx context.Context, c *Call) (*Result, error) {
	mode, err := c.Args.Mode("mode", 0o644)
	if err != nil {
		return nil, err
	}
	var extra map[string]cty.Value
	if v := c.Args["vars"]; c.Args.Has("vars") && (v.Type().IsObjectType() || v.Type().IsMapType()) {
		extra = v.AsValueMap()
	}
	out, err := c.Template(c.Args.String("src", ""), extra)
	if err != nil {
		return nil, err
	}
	return put(ctx, c, c.Args.String("dest", ""), bytesSource([]byte(out)), mode, c.Args.String("owner", ""), c.Args.String("group", ""))
}
