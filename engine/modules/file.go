package modules

import (
	"context"
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/kplay-dev/kplay/engine/config"
)

func init() { Register(fileModule{}) }

// fileModule makes a path be a directory, a symlink, an empty file, or absent, with the
// given mode and owner.
type fileModule struct{}

var fileStates = []string{"directory", "file", "touch", "link", "absent"}

func (fileModule) Spec() *config.ModuleSpec {
	return &config.ModuleSpec{
		Name: "file",
		Args: []config.ArgSpec{
			{Name: "path", Type: cty.String, AbsPath: true, Required: true, Doc: "The path to manage."},
			{Name: "state", Type: cty.String, Doc: "directory (default), file (must exist), touch, link or absent."},
			{Name: "src", Type: cty.String, Doc: "Target of a symlink (state = \"link\")."},
			{Name: "mode", Type: cty.String, Doc: "Octal mode as a string, \"0755\"."},
			{Name: "owner", Type: cty.String, Doc: "Owning user."},
			{Name: "group", Type: cty.String, Doc: "Owning group."},
		},
		Validate: validateFile,
	}
}

func validateFile(t *config.Task) hcl.Diagnostics {
	var diags hcl.Diagnostics
	var state string
	if at := t.Args["state"]; at != nil && len(at.Expr.Variables()) == 0 {
		config.DecodeLiteral(at, &state)
		if !oneOf(state, fileStates) {
			diags = append(diags, argError(t, "state", "state is one of "+strings.Join(fileStates, ", ")+".")...)
		}
		if state == "link" && t.Args["src"] == nil {
			diags = append(diags, argError(t, "state", "state = \"link\" needs src, the link's target.")...)
		}
	}
	return append(diags, validateMode(t, "mode")...)
}

func validateMode(t *config.Task, name string) hcl.Diagnostics {
	at := t.Args[name]
	if at == nil || len(at.Expr.Variables()) > 0 {
		return nil
	}
	var s string
	if d := config.DecodeLiteral(at, &s); d.HasErrors() {
		return d
	}
	if _, err := parseMode(s); err != nil {
		return argError(t, name, err.Error()+".")
	}
	return nil
}

func oneOf(s string, list []string) bool {
	for _, x := range list {
		if s == x {
			return true
		}
	}
	return false
}

const fileScript = `
case "$STATE" in
directory)
  if [ ! -d "$P" ]; then
    if [ -e "$P" ] || [ -L "$P" ]; then echo "$P exists and is not a directory" >&2; exit 1; fi
    echo changed; echo "msg created directory"
    [ "$CHECK" = 1 ] || mkdir -p -- "$P" || exit 1
  fi ;;
file)
  if [ ! -f "$P" ]; then echo "$P does not exist or is not a regular file" >&2; exit 1; fi ;;
touch)
  if [ ! -e "$P" ]; then
    echo changed; echo "msg created empty file"
    [ "$CHECK" = 1 ] || : > "$P" || exit 1
  fi ;;
link)
  if [ "$(readlink -- "$P" 2>/dev/null)" != "$SRC" ]; then
    if [ -e "$P" ] && [ ! -L "$P" ]; then echo "$P exists and is not a symlink" >&2; exit 1; fi
    echo changed; echo "msg link -> $SRC"
    [ "$CHECK" = 1 ] || ln -sfn -- "$SRC" "$P" || exit 1
  fi ;;
absent)
  if [ -e "$P" ] || [ -L "$P" ]; then
    echo changed; echo "msg removed"
    [ "$CHECK" = 1 ] || rm -rf -- "$P" || exit 1
  fi ;;
esac
[ "$STATE" = absent ] || [ "$STATE" = link ] || { :; ` + attrScript + ` }
`

func (fileModule) Run(ctx context.Context, c *Call) (*Result, error) {
	mode := ""
	if c.Args.Has("mode") {
		m, err := c.Args.Mode("mode", 0)
		if err != nil {
			return nil, err
		}
		mode = statMode(m)
	}
	vars := map[string]string{
		"P": c.Args.String("path", ""), "STATE": c.Args.String("state", "directory"),
		"SRC": c.Args.String("src", ""), "MODE": mode,
		"OWNER": c.Args.String("owner", ""), "GROUP": c.Args.String("group", ""),
	}
	if !oneOf(vars["STATE"], fileStates) {
		return nil, fmt.Errorf("state is one of %s, not %q", strings.Join(fileStates, ", "), vars["STATE"])
	}
	sr, err := runScript(ctx, c, vars, fileScript)
	if err != nil {
		return nil, err
	}
	return &Result{Changed: sr.changed, Msg: strings.Join(sr.msgs, "; ")}, nil
}
