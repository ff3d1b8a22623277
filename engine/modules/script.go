package modules

import (
	"bytes"
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/kplay-dev/kplay/engine/eval/funcs"
)

// scriptResult is what a module's shell script reported: the script prints "changed" on a
// line of its own for each change it made (or would make, in check mode), and "msg TEXT"
// lines to explain.
type scriptResult struct {
	changed bool
	msgs    []string
	stdout  string
	stderr  string
}

// runScript runs script after setting the given shell variables (quoted), plus CHECK=1 in
// check mode. A non-zero exit is an error carrying the script's stderr.
func runScript(ctx context.Context, c *Call, vars map[string]string, script string) (*scriptResult, error) {
	var b strings.Builder
	b.WriteString("set -u\n")
	check := "0"
	if c.Check {
		check = "1"
	}
	fmt.Fprintf(&b, "CHECK=%s\n", check)
	for _, k := range sortedKeys(vars) {
		fmt.Fprintf(&b, "%s=%s\n", k, funcs.ShellQuote(vars[k]))
	}
	b.WriteString(script)
	res, err := c.Target.RunScript(ctx, b.String())
	if err != nil {
		return nil, err
	}
	out := &scriptResult{stdout: string(res.Stdout), stderr: string(res.Stderr)}
	for _, line := range strings.Split(string(res.Stdout), "\n") {
		switch {
		case line == "changed":
			out.changed = true
		case strings.HasPrefix(line, "msg "):
			out.msgs = append(out.msgs, strings.TrimPrefix(line, "msg "))
		}
	}
	if res.ExitCode != 0 {
		msg := strings.TrimSpace(string(bytes.TrimSpace(res.Stderr)))
		if msg == "" {
			msg = fmt.Sprintf("exit status %d", res.ExitCode)
		}
		return out, fmt.Errorf("%s", msg)
	}
	return out, nil
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// attrScript brings mode, owner and group of "$P" to $MODE, $OWNER, $GROUP where those are
// set; used after a file exists. Shared by file, copy and template.
const attrScript = `
if [ -e "$P" ] || [ -L "$P" ]; then
  if [ -n "$MODE" ] && [ "$(stat -c %a "$P")" != "$MODE" ]; then
    echo changed; echo "msg mode $(stat -c %a "$P") -> $MODE"
    [ "$CHECK" = 1 ] || chmod "$MODE" "$P" || exit 1
  fi
  if [ -n "$OWNER" ] && [ "$(stat -c %U "$P")" != "$OWNER" ]; then
    echo changed; echo "msg owner $(stat -c %U "$P") -> $OWNER"
    [ "$CHECK" = 1 ] || chown "$OWNER" "$P" || exit 1
  fi
  if [ -n "$GROUP" ] && [ "$(stat -c %G "$P")" != "$GROUP" ]; then
    echo changed; echo "msg group $(stat -c %G "$P") -> $GROUP"
    [ "$CHECK" = 1 ] || chgrp "$GROUP" "$P" || exit 1
  fi
fi
`

// statMode renders a mode as stat -c %a prints it: octal without leading zeros.
func statMode(m uint32) string { return fmt.Sprintf("%o", m) }
