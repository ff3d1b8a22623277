package runner_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/kplay-dev/kplay/engine/config"
	"github.com/kplay-dev/kplay/engine/connection"
	"github.com/kplay-dev/kplay/engine/connection/conntest"
	"github.com/kplay-dev/kplay/engine/eval"
	"github.com/kplay-dev/kplay/engine/inventory"
	"github.com/kplay-dev/kplay/engine/modules"
	"github.com/kplay-dev/kplay/engine/output"
	"github.com/kplay-dev/kplay/engine/runner"
)

// recorder is an output.Sink that keeps every event in order.
type recorder struct {
	mu     sync.Mutex
	events []output.Event
}

func (r *recorder) Emit(e output.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

func (r *recorder) all() []output.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]output.Event(nil), r.events...)
}

// results returns the host results of the named task (full name, or module name such as
// "debug"), by host.
func (r *recorder) results(task string) map[string]output.HostResult {
	out := map[string]output.HostResult{}
	for _, e := range r.all() {
		if hr, ok := e.(output.HostResult); ok && (hr.Task == task || hr.Module == task) {
			out[hr.Host] = hr
		}
	}
	return out
}

// resultList returns every host result of the named task, in emission order.
func (r *recorder) resultList(task string) []output.HostResult {
	var out []output.HostResult
	for _, e := range r.all() {
		if hr, ok := e.(output.HostResult); ok && (hr.Task == task || hr.Module == task) {
			out = append(out, hr)
		}
	}
	return out
}

// taskStarts lists the names of the tasks and handlers started, in order.
func (r *recorder) taskStarts() []string {
	var out []string
	for _, e := range r.all() {
		if ts, ok := e.(output.TaskStart); ok {
			out = append(out, ts.Name)
		}
	}
	return out
}

func (r *recorder) warnings() []string {
	var out []string
	for _, e := range r.all() {
		if w, ok := e.(output.Warning); ok {
			out = append(out, w.Msg)
		}
	}
	return out
}

// rig is a project on disk, a fleet of fake hosts and the options of the next run. Each
// run builds a new loader, inventory, environment and Runner, as the CLI does, so state
// kept between runs is only what the runner writes to the state directory.
type rig struct {
	t     *testing.T
	dir   string
	fleet *conntest.Fleet
	opts  runner.Options
	extra map[string]string
	sink  *recorder
	// ctx, when set, is the context of the run.
	ctx context.Context
	// step, when set, is asked before each task, as --step asks the user.
	step runner.Stepper
	// loginUser, per host, is the user the connection says it logged in as, as an SSH
	// connection does when ~/.ssh/config chose the user.
	loginUser map[string]string
}

type loggedIn struct {
	connection.Conn
	user string
}

func (l loggedIn) LoginUser() string { return l.user }

// newRig writes files (paths relative to a temporary directory; hosts.hcl and site.hcl at
// least) and makes a fleet with every host of the inventory, answering with emulate.
func newRig(t *testing.T, files map[string]string) *rig {
	t.Helper()
	dir := t.TempDir()
	for name, src := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	rg := &rig{t: t, dir: dir, fleet: conntest.NewFleet(emulate)}
	inv, diags := inventory.Load(config.NewParser(), filepath.Join(dir, "hosts.hcl"))
	if diags.HasErrors() {
		t.Fatalf("inventory: %s", diags.Error())
	}
	for _, h := range inv.Hosts {
		rg.fleet.Add(h.Name).MkdirAll("/etc")
	}
	return rg
}

// run runs the playbook once with a fresh Runner and a fresh recorder.
func (rg *rig) run() (*runner.Result, error) {
	rg.t.Helper()
	l := config.NewLoader(modules.Specs(), config.RoleSource{})
	inv, diags := inventory.Load(l.Parser, filepath.Join(rg.dir, "hosts.hcl"))
	pb, d := l.LoadPlaybook(filepath.Join(rg.dir, "site.hcl"))
	diags = append(diags, d...)
	if diags.HasErrors() {
		rg.t.Fatalf("loading: %s", diags.Error())
	}
	extra := config.Values{}
	for k, v := range rg.extra {
		extra[k] = config.Value{Value: cty.StringVal(v), Range: hcl.Range{Filename: "-e " + k}}
	}
	kplay := map[string]cty.Value{"check_mode": cty.BoolVal(rg.opts.Check), "state_dir": cty.StringVal(inv.StateDir)}
	rg.sink = &recorder{}
	r := &runner.Runner{
		Playbook: pb, Loader: l, Inv: inv, Opts: rg.opts, Sink: rg.sink,
		Env: eval.NewEnv(inv, extra, nil, kplay, rg.dir),
		Dial: func(ctx context.Context, h *inventory.Host) (connection.Conn, error) {
			c, err := rg.fleet.Dial(ctx, h.Name)
			if u := rg.loginUser[h.Name]; u != "" && err == nil {
				return loggedIn{c, u}, nil
			}
			return c, err
		},
		Step: rg.step,
	}
	ctx := rg.ctx
	if ctx == nil {
		ctx = context.Background()
	}
	return r.Run(ctx)
}

// mustRun runs and fails the test on a run that could not start.
func (rg *rig) mustRun() *runner.Result {
	rg.t.Helper()
	res, err := rg.run()
	if err != nil {
		rg.t.Fatalf("Run: %v", err)
	}
	return res
}

// counter numbers the `count` commands of each host.
var counter = struct {
	sync.Mutex
	n map[*conntest.Host]int
}{n: map[*conntest.Host]int{}}

// emulate answers the few commands the runner tests use. It is a script of canned
// answers, not a shell:
//
//	sh -s (facts script)  a minimal fact report
//	P='...'; if [ -f ...  the probe of the copy module, answered from the host's files
//	echo WORDS            WORDS and a newline
//	fail N                exit status N, "failed" on stderr
//	count                 1, 2, 3... per host
//	true                  nothing
func emulate(_ context.Context, h *conntest.Host, c conntest.Command) (connection.Result, error) {
	line := c.Line
	switch {
	case line == "sh -s" && strings.Contains(c.Stdin, "p done 1"):
		return ok("hostname\t" + h.Name() + "\ndone\t1\n"), nil
	case strings.HasPrefix(line, "P=") && strings.Contains(line, `if [ -f "$P" ]`):
		return probe(h, line), nil
	case strings.HasPrefix(line, "echo "):
		return ok(strings.TrimPrefix(line, "echo ") + "\n"), nil
	case strings.HasPrefix(line, "fail "):
		code, _ := strconv.Atoi(strings.TrimPrefix(line, "fail "))
		return connection.Result{ExitCode: code, Stderr: []byte("failed\n")}, nil
	case line == "count":
		counter.Lock()
		counter.n[h]++
		n := counter.n[h]
		counter.Unlock()
		return ok(fmt.Sprintf("%d\n", n)), nil
	case line == "true":
		return ok(""), nil
	}
	return connection.Result{ExitCode: 127, Stderr: []byte("emulate: unknown command: " + line)}, nil
}

func ok(stdout string) connection.Result { return connection.Result{Stdout: []byte(stdout)} }

// probe answers the copy module's probe: "exists SUM MODE OWNER GROUP" or "absent", then
// "dirok" when the parent directory exists.
func probe(h *conntest.Host, line string) connection.Result {
	quoted, _, _ := strings.Cut(strings.TrimPrefix(line, "P="), "; ")
	p := unquote(quoted)
	var out strings.Builder
	if f, found := h.File(p); found {
		sum := sha256.Sum256(f.Data)
		fmt.Fprintf(&out, "exists %s %o root root %d:1.0:1\n", hex.EncodeToString(sum[:]), f.Mode.Perm(), len(f.Data))
	} else {
		out.WriteString("absent\n")
	}
	if h.IsDir(path.Dir(p)) {
		out.WriteString("dirok\n")
	}
	return ok(out.String())
}

// unquote undoes funcs.ShellQuote.
func unquote(s string) string {
	if !strings.HasPrefix(s, "'") {
		return s
	}
	return strings.ReplaceAll(strings.TrimSuffix(strings.TrimPrefix(s, "'"), "'"), `'\''`, "'")
}

const threeHosts = `
host "n1" {}
host "n2" {}
host "n3" {}
group "nodes" {
  hosts = ["n1", "n2", "n3"]
}
`

// play wraps task blocks in a play on all hosts that gathers no facts.
func play(body string) string {
	return "play \"p\" {\n  hosts = \"all\"\n  gather_facts = false\n" + body + "\n}\n"
}

func loadPlaybook(t *testing.T, rg *rig) *config.Playbook {
	t.Helper()
	l := config.NewLoader(modules.Specs(), config.RoleSource{})
	pb, diags := l.LoadPlaybook(filepath.Join(rg.dir, "site.hcl"))
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	return pb
}

// newLoaderTask returns the first task of the first play, as loaded.
func newLoaderTask(t *testing.T, rg *rig) *config.Task {
	t.Helper()
	return loadPlaybook(t, rg).Plays[0].Tasks[0]
}
