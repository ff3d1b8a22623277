package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/mattn/go-isatty"
	"github.com/zclconf/go-cty/cty"

	"github.com/kplay-dev/kplay/engine/config"
	"github.com/kplay-dev/kplay/engine/eval"
	"github.com/kplay-dev/kplay/engine/inventory"
	"github.com/kplay-dev/kplay/engine/modules"
	"github.com/kplay-dev/kplay/engine/output"
	"github.com/kplay-dev/kplay/roles"
)

// project is a loaded playbook with its inventory, roles and pins, checked statically.
type project struct {
	loader   *config.Loader
	playbook *config.Playbook
	inv      *inventory.Inventory
	pins     *config.Pins
	extra    config.Values
}

type loadFlags struct {
	inventory string
	extraVars []string
}

// load reads and checks everything that can be checked without a host. Diagnostics are
// printed to w with source snippets; any error gives an exitInvalid.
func load(w io.Writer, playbookPath string, f loadFlags) (*project, error) {
	p, diags, err := check(playbookPath, f)
	if err != nil {
		return nil, err
	}
	if len(diags) > 0 {
		output.Diagnostics(w, p.loader.Parser.Files(), diags, colorOn(w))
	}
	if diags.HasErrors() {
		return nil, &exitError{code: exitInvalid, msg: fmt.Sprintf("%d error(s); nothing was run", countErrors(diags))}
	}
	return p, nil
}

// check loads the playbook, its roles and the inventory and returns every diagnostic. The
// error is for options that keep it from starting (no inventory, a malformed -e).
func check(playbookPath string, f loadFlags) (*project, hcl.Diagnostics, error) {
	if f.inventory == "" {
		return nil, nil, &exitError{code: exitBadOptions, msg: "no inventory: pass -i hosts.hcl"}
	}
	loader := config.NewLoader(modules.Specs(), config.RoleSource{Embedded: roles.FS})
	p := &project{loader: loader}
	var diags hcl.Diagnostics
	extra, d := parseExtraVars(f.extraVars)
	if d.HasErrors() {
		return nil, nil, &exitError{code: exitBadOptions, msg: diagText(d)}
	}
	p.extra = extra
	var dd hcl.Diagnostics
	p.inv, dd = inventory.Load(loader.Parser, f.inventory)
	diags = append(diags, dd...)
	if !dd.HasErrors() {
		diags = append(diags, applySSHConfig(p.inv)...)
	}
	loader.Roles.Dir = filepath.Join(filepath.Dir(playbookPath), "roles")
	diags = append(diags, loadClusterVars(loader)...)
	p.playbook, dd = loader.LoadPlaybook(playbookPath)
	diags = append(diags, dd...)
	p.pins, dd = loadPins(loader)
	diags = append(diags, dd...)
	if !diags.HasErrors() {
		known := p.inv.VarNames()
		for k := range extra {
			known[k] = true
		}
		known["artifacts"], known["images"] = true, true
		diags = append(diags, loader.CheckScope(p.playbook, config.Scope{
			Vars: known, Groups: p.inv.GroupNames(), Hosts: p.inv.HostNames(),
		})...)
		diags = append(diags, checkPlayHosts(p)...)
	}
	return p, diags, nil
}

// loadClusterVars reads cluster.hcl, the variables every role shares, beside the playbook's
// roles/ if there is one, else the embedded one.
func loadClusterVars(l *config.Loader) hcl.Diagnostics {
	local := filepath.Join(l.Roles.Dir, "cluster.hcl")
	if _, err := os.Stat(local); err == nil {
		return l.LoadClusterVars(os.DirFS(l.Roles.Dir), "cluster.hcl", local)
	}
	return l.LoadClusterVars(roles.FS, "cluster.hcl", "embedded/roles/cluster.hcl")
}

// newEnv is the evaluation environment of a run of p.
func newEnv(p *project, playbook string, check, diff bool) *eval.Env {
	env := eval.NewEnv(p.inv, p.extra, p.pins, kplayObject(p, check, diff), filepath.Dir(playbook))
	env.Cluster = p.loader.Cluster
	return env
}

// loadPins reads artifacts.hcl beside the playbook's roles/ if there is one, else the
// embedded one.
func loadPins(l *config.Loader) (*config.Pins, hcl.Diagnostics) {
	local := filepath.Join(l.Roles.Dir, "artifacts.hcl")
	if _, err := os.Stat(local); err == nil {
		return l.Parser.LoadPins(os.DirFS(l.Roles.Dir), "artifacts.hcl", local)
	}
	return l.Parser.LoadPins(roles.FS, "artifacts.hcl", "embedded/roles/artifacts.hcl")
}

// checkPlayHosts resolves every play's host pattern, so a typo in one is a load error.
func checkPlayHosts(p *project) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, play := range p.playbook.Plays {
		if _, err := p.inv.Resolve(play.Hosts); err != nil {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError, Summary: "Invalid host pattern", Detail: err.Error() + ".",
				Subject: play.HostsRange.Ptr(),
			})
		}
	}
	return diags
}

// parseExtraVars reads -e name=value. A value that is HCL for a list, an object, a quoted
// string, true, false or null is taken as that; anything else is a plain string, so
// `-e k8s_version=1.24.6` needs no quoting.
func parseExtraVars(args []string) (config.Values, hcl.Diagnostics) {
	out := config.Values{}
	for _, a := range args {
		name, val, ok := strings.Cut(a, "=")
		if !ok || !config.ValidName(name) {
			return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Invalid -e",
				Detail: fmt.Sprintf("-e takes name=value, got %q", a)}}
		}
		rng := hcl.Range{Filename: "-e " + name}
		v := cty.StringVal(val)
		if looksLikeHCL(val) {
			expr, diags := hclsyntax.ParseExpression([]byte(val), rng.Filename, hcl.InitialPos)
			if diags.HasErrors() {
				return nil, diags
			}
			if v, diags = expr.Value(config.StaticContext()); diags.HasErrors() {
				return nil, diags
			}
		}
		out[name] = config.Value{Value: v, Range: rng}
	}
	return out, nil
}

func looksLikeHCL(s string) bool {
	s = strings.TrimSpace(s)
	return s == "true" || s == "false" || s == "null" ||
		strings.HasPrefix(s, "{") || strings.HasPrefix(s, "[") || strings.HasPrefix(s, `"`)
}

func countErrors(diags hcl.Diagnostics) int {
	n := 0
	for _, d := range diags {
		if d.Severity == hcl.DiagError {
			n++
		}
	}
	return n
}

func diagText(diags hcl.Diagnostics) string {
	var parts []string
	for _, d := range diags {
		parts = append(parts, d.Summary+": "+d.Detail)
	}
	return strings.Join(parts, "; ")
}

// colorOn says whether w is a terminal that should get color.
func colorOn(w io.Writer) bool {
	if os.Getenv("NO_COLOR") != "" {
		return false
	}
	f, ok := w.(*os.File)
	return ok && isatty.IsTerminal(f.Fd())
}
