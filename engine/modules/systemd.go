package modules

import (
	"context"
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/kplay-dev/kplay/engine/config"
)

func init() { Register(systemdModule{}) }

// systemdModule starts, stops, restarts or reloads a unit and enables or disables it.
type systemdModule struct{}

var unitStates = []string{"started", "stopped", "restarted", "reloaded"}

func (systemdModule) Spec() *config.ModuleSpec {
	return &config.ModuleSpec{
		Name: "systemd",
		Args: []config.ArgSpec{
			{Name: "name", Type: cty.String, Required: true, Doc: "Unit name."},
			{Name: "state", Type: cty.String, Doc: "started, stopped, restarted or reloaded."},
			{Name: "enabled", Type: cty.Bool, Doc: "Start at boot."},
			{Name: "daemon_reload", Type: cty.Bool, Doc: "Reload unit files first."},
			{Name: "no_block", Type: cty.Bool, Doc: "Queue the start or restart without waiting for it to finish: members of a new etcd cluster wait for each other."},
		},
		Validate: func(t *config.Task) hcl.Diagnostics {
			at := t.Args["state"]
			if at == nil || len(at.Expr.Variables()) > 0 {
				return nil
			}
			var s string
			config.DecodeLiteral(at, &s)
			if !oneOf(s, unitStates) {
				return argError(t, "state", "state is one of "+strings.Join(unitStates, ", ")+".")
			}
			return nil
		},
	}
}

// A unit that fails to start is reported with the tail of its journal: the reason is
// almost always there, and the operator should not need a second terminal to find it.
const systemdScript = `
fail() { echo "$1" >&2; journalctl -u "$UNIT" -n 15 --no-pager -o cat >&2 2>/dev/null; exit 1; }
# A reload costs about as much as the rest of the task: do it only when systemd says the
# unit's file changed, or does not know the unit yet.
if [ "$RELOAD" = 1 ] && [ "$CHECK" != 1 ]; then
  case "$(systemctl show -p NeedDaemonReload,LoadState --value "$UNIT" 2>/dev/null | tr '\n' ' ')" in
    *yes*|*not-found*) systemctl daemon-reload || exit 1 ;;
  esac
fi
if [ -n "$ENABLED" ]; then
  cur=$(systemctl is-enabled "$UNIT" 2>/dev/null)
  if [ "$ENABLED" = 1 ] && [ "$cur" != enabled ]; then
    echo changed; echo "msg enabled"
    [ "$CHECK" = 1 ] || systemctl enable -q "$UNIT" || exit 1
  elif [ "$ENABLED" = 0 ] && [ "$cur" = enabled ]; then
    echo changed; echo "msg disabled"
    [ "$CHECK" = 1 ] || systemctl disable -q "$UNIT" || exit 1
  fi
fi
case "$STATE" in
started)
  if ! systemctl is-active -q "$UNIT"; then
    echo changed; echo "msg started"
    [ "$CHECK" = 1 ] || systemctl start $NOBLOCK "$UNIT" || fail "starting $UNIT failed"
  fi ;;
stopped)
  if systemctl is-active -q "$UNIT"; then
    echo changed; echo "msg stopped"
    [ "$CHECK" = 1 ] || systemctl stop "$UNIT" || exit 1
  fi ;;
restarted)
  echo changed; echo "msg restarted"
  [ "$CHECK" = 1 ] || systemctl restart $NOBLOCK "$UNIT" || fail "restarting $UNIT failed" ;;
reloaded)
  echo changed; echo "msg reloaded"
  [ "$CHECK" = 1 ] || systemctl reload "$UNIT" || fail "reloading $UNIT failed" ;;
esac
`

func (systemdModule) Run(ctx context.Context, c *Call) (*Result, error) {
	enabled := ""
	if c.Args.Has("enabled") {
		enabled = "0"
		if c.Args.Bool("enabled", false) {
			enabled = "1"
		}
	}
	vars := map[string]string{
		"UNIT": c.Args.String("name", ""), "STATE": c.Args.String("state", ""),
		"ENABLED": enabled, "RELOAD": boolFlag(c.Args.Bool("daemon_reload", false)),
		"NOBLOCK": "",
	}
	if c.Args.Bool("no_block", false) {
		vars["NOBLOCK"] = "--no-block"
	}
	if s := vars["STATE"]; s != "" && !oneOf(s, unitStates) {
		return nil, fmt.Errorf("state is one of %s, not %q", strings.Join(unitStates, ", "), s)
	}
	sr, err := runScript(ctx, c, vars, systemdScript)
	if err != nil {
		return nil, err
	}
	return &Result{Changed: sr.changed, Msg: strings.Join(sr.msgs, ", ")}, nil
}

func boolFlag(b bool) string {
	if b {
		return "1"
	}
	return "0"
}
