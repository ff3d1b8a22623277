package modules

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/kplay-dev/kplay/engine/config"
	"github.com/kplay-dev/kplay/engine/eval/funcs"
)

func init() {
	Register(commandModule{shell: false})
	Register(commandModule{shell: true})
}

// commandModule runs a program: `command` from an argv list, each word quoted, so nothing
// in a value is ever interpreted by a shell; `shell` a command line, for pipes and
// redirections, where quoting is the author's job (see shellquote()).
type commandModule struct{ shell bool }

var commonCommandArgs = []config.ArgSpec{
	{Name: "chdir", Type: cty.String, AbsPath: true, Doc: "Directory to run in."},
	{Name: "creates", Type: cty.String, AbsPath: true, Doc: "Skip when this path exists."},
	{Name: "removes", Type: cty.String, AbsPath: true, Doc: "Skip unless this path exists."},
	{Name: "stdin", Type: cty.String, Doc: "Text fed to the command's standard input."},
}

func (m commandModule) Spec() *config.ModuleSpec {
	if m.shell {
		return &config.ModuleSpec{Name: "shell", Args: append([]config.ArgSpec{
			{Name: "cmd", Type: cty.String, Required: true, Doc: "Shell command line (sh -c)."},
		}, commonCommandArgs...)}
	}
	return &config.ModuleSpec{Name: "command", Args: append([]config.ArgSpec{
		{Name: "argv", Type: cty.List(cty.String), Required: true, Doc: "Program and its arguments; each is quoted."},
	}, commonCommandArgs...), Validate: validateArgv}
}

func validateArgv(t *config.Task) hcl.Diagnostics {
	at := t.Args["argv"]
	if at == nil || len(at.Expr.Variables()) > 0 {
		return nil
	}
	v, diags := at.Expr.Value(config.StaticContext())
	if diags.HasErrors() || !v.IsWhollyKnown() || !v.CanIterateElements() {
		return nil
	}
	if v.LengthInt() == 0 {
		return argError(t, "argv", "argv needs at least the program to run.")
	}
	return nil
}

// skipMarker is what the guard prints when creates/removes says the command need not run.
const skipMarker = "__kplay_skip__"

func (m commandModule) Run(ctx context.Context, c *Call) (*Result, error) {
	line := c.Args.String("cmd", "")
	if !m.shell {
		argv := c.Args.Strings("argv")
		if len(argv) == 0 {
			return nil, fmt.Errorf("argv is empty")
		}
		quoted := make([]string, len(argv))
		for i, a := range argv {
			quoted[i] = funcs.ShellQuote(a)
		}
		line = strings.Join(quoted, " ")
	}
	guard := guardLine(c.Args)
	if c.Check {
		return m.predict(ctx, c, guard)
	}
	if dir := c.Args.String("chdir", ""); dir != "" {
		line = "cd " + funcs.ShellQuote(dir) + " && " + line
	}
	if guard != "" {
		line = guard + " || { " + line + "\n}"
	}
	var stdin io.Reader // a nil *strings.Reader would not be a nil io.Reader
	if c.Args.Has("stdin") {
		stdin = strings.NewReader(c.Args.String("stdin", ""))
	}
	res, err := c.Target.Run(ctx, line, stdin)
	if err != nil {
		return nil, err
	}
	if res.ExitCode == 0 && strings.TrimSpace(string(res.Stdout)) == skipMarker {
		return &Result{Msg: "skipped: " + guardReason(c.Args)}, nil
	}
	rc := res.ExitCode
	r := &Result{Changed: true, RC: &rc, Stdout: string(res.Stdout), Stderr: string(res.Stderr)}
	if rc != 0 {
		r.Msg = fmt.Sprintf("non-zero exit status %d", rc)
		return r, &CommandError{RC: rc, Stderr: tail(string(res.Stderr), 2000)}
	}
	return r, nil
}

// predict reports, in check mode, whether the command would run, without running it.
func (m commandModule) predict(ctx context.Context, c *Call, guard string) (*Result, error) {
	if guard == "" {
		return &Result{Skipped: true, Changed: true, Msg: "check mode: would run"}, nil
	}
	res, err := c.Target.Run(ctx, guard+" || true", nil)
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(string(res.Stdout)) == skipMarker {
		return &Result{Msg: "skipped: " + guardReason(c.Args)}, nil
	}
	return &Result{Skipped: true, Changed: true, Msg: "check mode: would run"}, nil
}

// guardLine is a shell test that prints skipMarker when creates/removes rule the run out.
func guardLine(a Args) string {
	var tests []string
	if p := a.String("creates", ""); p != "" {
		tests = append(tests, "[ -e "+funcs.ShellQuote(p)+" ]")
	}
	if p := a.String("removes", ""); p != "" {
		tests = append(tests, "[ ! -e "+funcs.ShellQuote(p)+" ]")
	}
	if len(tests) == 0 {
		return ""
	}
	return "{ " + strings.Join(tests, " || ") + "; } && echo " + skipMarker
}

func guardReason(a Args) string {
	if p := a.String("creates", ""); p != "" {
		return p + " exists"
	}
	return a.String("removes", "") + " does not exist"
}

// CommandError is a command that ran and failed.
type CommandError struct {
	RC     int
	Stderr string
}

func (e *CommandError) Error() string {
	if e.Stderr == "" {
		return fmt.Sprintf("non-zero exit status %d", e.RC)
	}
	return fmt.Sprintf("non-zero exit status %d: %s", e.RC, strings.TrimSpace(e.Stderr))
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}
