// Package runner runs plays: it resolves each play's hosts, connects and gathers facts,
// then runs each task on every host of the play in parallel under a fork limit before the
// next task starts (the linear strategy). A host that fails or cannot be reached leaves the
// run; the others go on. Handlers notified by a change run at the end of the play, and a
// notification not yet handled is kept on disk so the next run still handles it.
//
// The runner owns the policy around modules: conditions, loops, retries, become, check
// mode, redaction, timeouts. It reports through an output.Sink and never prints.
package runner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/kplay-dev/kplay/engine/config"
	"github.com/kplay-dev/kplay/engine/connection"
	"github.com/kplay-dev/kplay/engine/eval"
	"github.com/kplay-dev/kplay/engine/facts"
	"github.com/kplay-dev/kplay/engine/internal/atomicfile"
	"github.com/kplay-dev/kplay/engine/inventory"
	"github.com/kplay-dev/kplay/engine/modules"
	"github.com/kplay-dev/kplay/engine/output"
)

// Options are the settings of one run.
type Options struct {
	Forks int
	Check bool
	Diff  bool
	Tags  Tags
	// Limit is a host pattern every play's hosts are narrowed to; empty means no limit.
	Limit string
	// FactTTL is how long cached facts are trusted.
	FactTTL    time.Duration
	FlushCache bool
	// StartAt skips every task before the first one with this name ("role : task" or
	// just "task"), as --start-at-task.
	StartAt string
}

// Stepper confirms each task before it runs, as ansible-playbook --step does. The runner
// asks one question at a time, never about a handler, and only for a task that has hosts
// to run on. An error (nobody left to answer) stops the run as an interruption would.
type Stepper interface {
	Confirm(task string) (output.StepAnswer, error)
}

// Dialer opens a connection to a host.
type Dialer func(ctx context.Context, h *inventory.Host) (connection.Conn, error)

// Runner runs one playbook once. Make a new one per run.
type Runner struct {
	Playbook *config.Playbook
	Loader   *config.Loader
	Inv      *inventory.Inventory
	Env      *eval.Env
	Opts     Options
	Sink     output.Sink
	Dial     Dialer
	Log      *slog.Logger
	// Step, when set, is asked before each task whether to run it; nil runs every task.
	Step Stepper

	mu    sync.Mutex
	hosts map[string]*hostState
	conns map[string]*hostConn
	// uploaded counts bytes written to hosts.
	uploaded countingBytes
	cache    *facts.Cache
	pending  *pendingStore
	// varsCache holds each host's merged variables per play and role: merging layers and
	// evaluating role defaults is the same work for every task of a role.
	varsCache map[varsKey]cachedVars
	// started turns true at the --start-at-task task (at once without one).
	started bool
	// stopped is set when a play with any_errors_fatal failed: no later play runs.
	stopped bool
	// memos hold, per host, the checksums of files verified there (see modules.FileMemo).
	memos map[string]*modules.FileMemo
	// stages records where writes stage their data, for sweeping after a killed run.
	stages *stageLog
	// sources holds the checksums of deploy-host files uploaded or compared, kept between
	// runs so a re-run does not read every staged binary again.
	sources *modules.FileMemo
	// stepAll is set once the --step answer was "continue": no more questions.
	stepAll bool
	// cancel ends the run's context, as an interruption does.
	cancel context.CancelFunc
}

type varsKey struct {
	host string
	play *config.Play
	role *config.Role
}

type cachedVars struct {
	vars  *eval.Vars
	diags hcl.Diagnostics
}

// vars returns h's variables for a task of role in play, merged once per run. Facts are
// gathered before a play's first task, so role defaults that read facts see them.
func (r *Runner) vars(h *inventory.Host, p *config.Play, role *config.Role) (*eval.Vars, hcl.Diagnostics) {
	key := varsKey{h.Name, p, role}
	r.mu.Lock()
	c, ok := r.varsCache[key]
	r.mu.Unlock()
	if ok {
		return c.vars, c.diags
	}
	v, diags := r.Env.Vars(h, p, role)
	r.mu.Lock()
	r.varsCache[key] = cachedVars{v, diags}
	r.mu.Unlock()
	return v, diags
}

type hostConn struct {
	once  sync.Once
	conn  connection.Conn
	err   error
	probe modules.Probe
	// unswept is set while staging entries of an earlier run may still be on the host.
	unswept bool
	// user is the login user; the connection knows it better than the inventory when
	// ~/.ssh/config chose it.
	user string
}

// Result is what a run came to.
type Result struct {
	Recap output.Recap
}

// Failed reports whether any host failed.
func (r *Result) Failed() bool { return r.any(func(c output.Counts) bool { return c.Failed > 0 }) }

// Unreachable reports whether any host could not be reached.
func (r *Result) Unreachable() bool {
	return r.any(func(c output.Counts) bool { return c.Unreachable > 0 })
}

func (r *Result) any(f func(output.Counts) bool) bool {
	for _, c := range r.Recap.Counts {
		if f(c) {
			return true
		}
	}
	return false
}

// Run runs every play. The error is for a run that could not start (a bad --limit); what
// happened on hosts is in the Result.
func (r *Runner) Run(ctx context.Context) (*Result, error) {
	start := time.Now()
	ctx, r.cancel = context.WithCancel(ctx)
	defer r.cancel()
	r.setup()
	limit, err := r.limitHosts()
	if err != nil {
		return nil, err
	}
	if err := r.checkStartAt(); err != nil {
		return nil, err
	}
	if r.Opts.FlushCache {
		if err := r.cache.Flush(); err != nil {
			return nil, fmt.Errorf("flushing the fact cache: %w", err)
		}
	}
	for _, p := range r.Playbook.Plays {
		if ctx.Err() != nil || r.stopped {
			break
		}
		if err := r.runPlay(ctx, p, limit); err != nil {
			return nil, err
		}
	}
	r.closeConns()
	r.saveFileMemos()
	r.forgetStages()
	recap := r.recap(time.Since(start), ctx.Err() != nil)
	r.Sink.Emit(recap)
	return &Result{Recap: recap}, nil
}

func (r *Runner) setup() {
	if r.Opts.Forks <= 0 {
		r.Opts.Forks = 10
	}
	if r.Opts.FactTTL == 0 {
		r.Opts.FactTTL = 2 * time.Hour
	}
	if r.Log == nil {
		r.Log = slog.New(slog.DiscardHandler)
	}
	r.hosts = map[string]*hostState{}
	r.conns = map[string]*hostConn{}
	r.varsCache = map[varsKey]cachedVars{}
	r.cache = &facts.Cache{Dir: r.Inv.StateDir + "/facts", TTL: r.Opts.FactTTL}
	r.pending = &pendingStore{dir: r.Inv.StateDir + "/pending-handlers"}
	r.stages = &stageLog{dir: r.Inv.StateDir + "/staging"}
	r.sources = modules.NewFileMemo()
	if b, err := os.ReadFile(r.sourcesPath()); err == nil && !r.Opts.FlushCache {
		r.sources = modules.LoadFileMemo(b)
	}
	r.preloadFacts()
}

// checkStartAt makes sure --start-at-task names a task, so a typo does not skip everything.
func (r *Runner) checkStartAt() error {
	r.started = r.Opts.StartAt == ""
	if r.started {
		return nil
	}
	var names []string
	for _, p := range r.Playbook.Plays {
		for _, t := range p.AllTasks() {
			if startsHere(t, r.Opts.StartAt) {
				return nil
			}
			names = append(names, t.FullName())
		}
	}
	msg := fmt.Sprintf("--start-at-task: no task is named %q", r.Opts.StartAt)
	if s := config.NameSuggestion(r.Opts.StartAt, names); s != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", s)
	}
	return errors.New(msg)
}

func startsHere(t *config.Task, name string) bool { return t.FullName() == name || t.Name == name }

func (r *Runner) limitHosts() (map[*inventory.Host]bool, error) {
	if r.Opts.Limit == "" {
		return nil, nil
	}
	hosts, err := r.Inv.Resolve(r.Opts.Limit)
	if err != nil {
		return nil, fmt.Errorf("--limit: %w", err)
	}
	if len(hosts) == 0 {
		return nil, fmt.Errorf("--limit %q matches no host of %s", r.Opts.Limit, r.Inv.Path)
	}
	set := map[*inventory.Host]bool{}
	for _, h := range hosts {
		set[h] = true
	}
	return set, nil
}

// state returns the run's record of a host, making it on first use.
func (r *Runner) state(h *inventory.Host) *hostState {
	r.mu.Lock()
	defer r.mu.Unlock()
	st := r.hosts[h.Name]
	if st == nil {
		st = &hostState{host: h, registered: map[string]cty.Value{}, notified: map[string]bool{}}
		r.hosts[h.Name] = st
	}
	return st
}

// conn returns the host's connection, dialing it once for the whole run.
func (r *Runner) conn(ctx context.Context, h *inventory.Host) (*hostConn, error) {
	r.mu.Lock()
	hc := r.conns[h.Name]
	if hc == nil {
		hc = &hostConn{}
		r.conns[h.Name] = hc
	}
	r.mu.Unlock()
	hc.once.Do(func() {
		start := time.Now()
		c, err := r.Dial(ctx, h)
		hc.conn, hc.err, hc.user = c, err, h.User
		if lu, ok := c.(connection.LoginUser); ok && lu.LoginUser() != "" {
			hc.user = lu.LoginUser()
		}
		if c != nil {
			hc.conn = &countingConn{Conn: c, n: &r.uploaded}
		}
		r.Log.Debug("dial", "host", h.Name, "address", h.Address, "took", time.Since(start), "err", err)
		if c != nil {
			r.sweepStages(ctx, h, hc)
		}
	})
	return hc, hc.err
}

func (r *Runner) target(ctx context.Context, h *inventory.Host, become bool) (*modules.Target, error) {
	hc, err := r.conn(ctx, h)
	if err != nil {
		if !connection.IsUnreachable(err) {
			err = &connection.UnreachableError{Host: h.Name, Err: err}
		}
		return nil, err
	}
	t := modules.NewTarget(h.Name, hc.conn, h.Local(), hc.user, &hc.probe)
	t.Memo = r.fileMemo(h)
	t.Sources = r.sources
	t.OnStage = func(dir string, root bool) error { return r.stages.note(h.Name, dir, root) }
	return t.WithBecome(become), nil
}

func (r *Runner) closeConns() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, hc := range r.conns {
		if hc.conn != nil {
			hc.conn.Close()
		}
	}
}

func (r *Runner) recap(d time.Duration, interrupted bool) output.Recap {
	rc := output.Recap{Counts: map[string]output.Counts{}, Duration: d, Interrupted: interrupted,
		Transferred: r.uploaded.load()}
	r.mu.Lock()
	defer r.mu.Unlock()
	for name, st := range r.hosts {
		rc.Hosts = append(rc.Hosts, name)
		rc.Counts[name] = st.counts
		if st.interrupted != "" {
			if rc.InFlight == nil {
				rc.InFlight = map[string]string{}
			}
			rc.InFlight[name] = st.interrupted
		}
	}
	return rc
}

func (r *Runner) memoPath(host string) string {
	return filepath.Join(r.Inv.StateDir, "uploads", host+".json")
}

// fileMemo returns h's memo of verified files, read from the state directory on first use;
// --flush-cache starts it empty.
func (r *Runner) fileMemo(h *inventory.Host) *modules.FileMemo {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.memos == nil {
		r.memos = map[string]*modules.FileMemo{}
	}
	m := r.memos[h.Name]
	if m == nil {
		m = modules.NewFileMemo()
		if !r.Opts.FlushCache {
			if b, err := os.ReadFile(r.memoPath(h.Name)); err == nil {
				m = modules.LoadFileMemo(b)
			}
		}
		r.memos[h.Name] = m
	}
	return m
}

// sourcesPath is where the checksums of deploy-host files are kept; not in uploads/, whose
// files are named after hosts.
func (r *Runner) sourcesPath() string { return filepath.Join(r.Inv.StateDir, "source-sums.json") }

func (r *Runner) saveFileMemos() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if b, dirty := r.sources.Marshal(); dirty {
		if err := atomicfile.Write(r.sourcesPath(), b, 0o600); err != nil {
			r.Sink.Emit(output.Warning{Msg: "saving the checksums of deploy-host files: " + err.Error()})
		}
	}
	for host, m := range r.memos {
		b, dirty := m.Marshal()
		if !dirty {
			continue
		}
		if err := atomicfile.Write(r.memoPath(host), b, 0o600); err != nil {
			r.Sink.Emit(output.Warning{Host: host, Msg: "saving the memo of verified files: " + err.Error()})
		}
	}
}
