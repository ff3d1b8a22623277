package runner

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/kplay-dev/kplay/engine/config"
	"github.com/kplay-dev/kplay/engine/connection"
	"github.com/kplay-dev/kplay/engine/eval"
	"github.com/kplay-dev/kplay/engine/inventory"
	"github.com/kplay-dev/kplay/engine/modules"
	"github.com/kplay-dev/kplay/engine/output"
)

// itemConcurrency bounds the loop items of one task that run at once on one host; sshd
// allows ten sessions per connection by default.
const itemConcurrency = 8

// runTask runs t on every host in parallel, at most Forks at a time, and waits for all;
// a task the --step answer declines is reported as skipped instead.
func (r *Runner) runTask(ctx context.Context, p *config.Play, t *config.Task, hosts []*inventory.Host) {
	if len(hosts) == 0 {
		return
	}
	if !r.stepAllows(ctx, t) {
		r.skipTask(ctx, p, t, hosts)
		return
	}
	r.Sink.Emit(taskStart(p, t, r.Opts.Check))
	if t.RunOnce {
		r.runOnce(ctx, p, t, hosts)
		return
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, r.Opts.Forks)
	for _, h := range hosts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				return
			}
			defer func() { <-sem }()
			r.runOnHost(ctx, p, t, h)
		}()
	}
	wg.Wait()
}

func taskStart(p *config.Play, t *config.Task, check bool) output.TaskStart {
	role := ""
	if t.Role != nil {
		role = t.Role.Name
	}
	return output.TaskStart{Play: p.Name, Name: t.Name, Role: role, Handler: t.Handler, Check: check}
}

// runOnce runs t on the first host only and gives every host its registered result.
func (r *Runner) runOnce(ctx context.Context, p *config.Play, t *config.Task, hosts []*inventory.Host) {
	first := r.runOnHost(ctx, p, t, hosts[0])
	if t.Register == "" {
		return
	}
	for _, h := range hosts[1:] {
		r.state(h).registered[t.Register] = first
	}
}

// outcome is a task's result on one host (or one loop item).
type outcome struct {
	status output.Status
	res    *modules.Result
	err    error
	value  cty.Value
	item   string
	tries  int
	// delegate names the host a delegated task ran on.
	delegate string
	// redact hides the task's sensitive values in what is shown of the outcome.
	redact func(string) string
}

// runOnHost runs t on h and reports it; it returns the value registered.
func (r *Runner) runOnHost(ctx context.Context, p *config.Play, t *config.Task, h *inventory.Host) cty.Value {
	st := r.state(h)
	start := time.Now()
	outs := r.evaluateAndRun(ctx, p, t, h, st)
	if ctx.Err() != nil {
		interrupted(t, st, outs)
	}
	settle(t, st, outs)
	status := aggregate(outs)
	value := registerValue(outs, t.ForEach != nil)
	if t.Register != "" {
		st.registered[t.Register] = value
	}
	r.count(st, status)
	if status == output.StatusChanged {
		r.notify(h, st, p, t)
		if t.RefreshFacts && !r.Opts.Check {
			r.refreshFacts(ctx, h)
		}
	}
	for _, o := range outs {
		r.Sink.Emit(r.hostResult(p, t, h, o, time.Since(start)))
	}
	return value
}

func (r *Runner) evaluateAndRun(ctx context.Context, p *config.Play, t *config.Task, h *inventory.Host, st *hostState) []outcome {
	vars, diags := r.vars(h, p, t.Role)
	if diags.HasErrors() {
		return []outcome{failure(diagError(diags))}
	}
	scope := r.Env.Scope(h, vars.Values, st.registeredCopy())
	if t.When != nil {
		ok, err := evalBool(t.When, scope.Context())
		switch {
		case err != nil:
			return []outcome{failure(err)}
		case ok == nil:
			return []outcome{{status: output.StatusSkipped, res: &modules.Result{Msg: "condition not known in check mode"}, value: cty.DynamicVal}}
		case !*ok:
			return []outcome{{status: output.StatusSkipped, value: skippedValue()}}
		}
	}
	items, err := loopItems(t, scope)
	if err != nil {
		return []outcome{failure(err)}
	}
	target, err := r.taskTarget(ctx, t, h, p, scope)
	if err != nil {
		o := failure(err)
		if connection.IsUnreachable(err) {
			// Without gather_facts the first task is where a dead host is found.
			o.status = output.StatusUnreachable
		}
		return []outcome{o}
	}
	if t.Environment != nil {
		env, err := evalEnv(t.Environment, scope)
		if err != nil {
			return []outcome{failure(err)}
		}
		target = target.WithEnv(env)
	}
	redact := redactor(t, vars)
	outs := make([]outcome, len(items))
	run := func(i int) {
		it := items[i]
		s := scope
		if it.key != cty.NilVal {
			s = scope.WithEach(it.key, it.value)
		}
		o := r.attempt(ctx, t, target, s, redact)
		o.item, o.redact = it.label, redact
		if t.DelegateTo != nil {
			o.delegate = target.Name
		}
		outs[i] = o
	}
	if t.SerialItems || len(items) < 2 {
		for i := range items {
			run(i)
			if outs[i].status == output.StatusUnreachable || ctx.Err() != nil {
				return outs[:i+1]
			}
		}
		return outs
	}
	// Items are independent unless the task says otherwise: on one connection they run
	// side by side, each its own channel, which is what makes a loop of copies cheap.
	var wg sync.WaitGroup
	sem := make(chan struct{}, itemConcurrency)
	for i := range items {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			run(i)
		}()
	}
	wg.Wait()
	return outs
}

// attempt runs the module, again while until is false and retries remain.
func (r *Runner) attempt(ctx context.Context, t *config.Task, target *modules.Target, s *eval.Scope, redact func(string) string) outcome {
	mod, _ := modules.Lookup(t.Module)
	var o outcome
	for try := 1; ; try++ {
		o = r.call(ctx, t, mod, target, s, redact)
		o.tries = try
		if t.Until == nil || o.status == output.StatusUnreachable || o.status == output.StatusSkipped || ctx.Err() != nil {
			break
		}
		// An until that cannot be known (check mode) would only repeat the same answer.
		if ok, _ := r.evalWithResult(t.Until, t, s, o.value); ok == nil || *ok {
			break
		}
		if try > t.Retries {
			if o.err == nil {
				o.err = fmt.Errorf("until condition still false after %d attempts", try)
				o.status = output.StatusFailed
			}
			break
		}
		select {
		case <-time.After(t.Delay):
		case <-ctx.Done():
		}
	}
	return r.judge(t, s, o)
}

// judge applies changed_when, failed_when and ignore_errors to an outcome.
func (r *Runner) judge(t *config.Task, s *eval.Scope, o outcome) outcome {
	if o.status == output.StatusUnreachable {
		return o
	}
	if t.ChangedWhen != nil && o.res != nil && o.status != output.StatusSkipped {
		if ok, err := r.evalWithResult(t.ChangedWhen, t, s, o.value); err != nil {
			o.status, o.err = output.StatusFailed, err
		} else if ok != nil && o.status != output.StatusFailed {
			o.status = map[bool]output.Status{true: output.StatusChanged, false: output.StatusOK}[*ok]
		}
	}
	if t.FailedWhen != nil && o.status != output.StatusSkipped {
		ok, err := r.evalWithResult(t.FailedWhen, t, s, o.value)
		switch {
		case err != nil:
			o.status, o.err = output.StatusFailed, err
		case ok != nil && *ok:
			o.status, o.err = output.StatusFailed, fmt.Errorf("failed_when condition is true (%s)", t.FailedWhen.Range())
		case ok != nil && o.status == output.StatusFailed:
			o.status, o.err = statusOf(o.res), nil
		}
	}
	o.value = resultValue(o)
	return o
}

// call evaluates the task's arguments in scope s and runs the module once.
func (r *Runner) call(ctx context.Context, t *config.Task, mod modules.Module, target *modules.Target, s *eval.Scope, redact func(string) string) outcome {
	args, known, err := evalArgs(t, mod.Spec(), s)
	if err != nil {
		return failure(err)
	}
	if !known {
		return outcome{status: output.StatusSkipped, res: &modules.Result{Skipped: true, Msg: "check mode: arguments depend on results not known yet; would run"}, value: cty.DynamicVal}
	}
	if t.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, t.Timeout)
		defer cancel()
	}
	c := &modules.Call{
		Target: target, Args: args, Check: r.Opts.Check, Diff: r.Opts.Diff, Task: t, Scope: s,
		Template: r.templater(t, s), Redact: redact, Source: r.source,
	}
	res, err := mod.Run(ctx, c)
	o := outcome{res: res, err: err}
	switch {
	case err != nil && connection.IsUnreachable(err):
		o.status = output.StatusUnreachable
	case err != nil && t.Timeout > 0 && errors.Is(ctx.Err(), context.DeadlineExceeded):
		o.status, o.err = output.StatusFailed, fmt.Errorf("timed out after %s: %w", t.Timeout, err)
	case err != nil:
		o.status = output.StatusFailed
	default:
		o.status = statusOf(res)
	}
	o.value = resultValue(o)
	return o
}

func statusOf(res *modules.Result) output.Status {
	switch {
	case res == nil:
		return output.StatusOK
	case res.Skipped:
		return output.StatusSkipped
	case res.Changed:
		return output.StatusChanged
	}
	return output.StatusOK
}

func (r *Runner) evalWithResult(e hcl.Expression, t *config.Task, s *eval.Scope, v cty.Value) (*bool, error) {
	reg := make(map[string]cty.Value, len(s.Registered)+1)
	for k, x := range s.Registered {
		reg[k] = x
	}
	if t.Register != "" {
		reg[t.Register] = v
	}
	s2 := *s
	s2.Registered = reg
	return evalBool(e, s2.Context())
}

// taskTarget returns where the task runs: the host itself or its delegate.
func (r *Runner) taskTarget(ctx context.Context, t *config.Task, h *inventory.Host, p *config.Play, s *eval.Scope) (*modules.Target, error) {
	become := h.Become
	if p.Become != nil {
		become = *p.Become
	}
	if t.Become != nil {
		become = *t.Become
	}
	on := h
	if t.DelegateTo != nil {
		name, err := evalString(t.DelegateTo, s.Context())
		if err != nil {
			return nil, err
		}
		if on = r.Inv.Host(name); on == nil {
			return nil, fmt.Errorf("delegate_to: no host %q in the inventory (%s)", name, t.DelegateTo.Range())
		}
	}
	tg, err := r.target(ctx, on, become)
	if err != nil && on != h {
		// The delegate's connection failing is the task's failure, not this host's loss.
		return nil, fmt.Errorf("delegate %s: %w", on.Name, errors.Unwrap(err))
	}
	return tg, err
}

func (r *Runner) notify(h *inventory.Host, st *hostState, p *config.Play, t *config.Task) {
	if len(t.Notify) == 0 {
		return
	}
	for _, n := range t.Notify {
		st.notified[handlerFullName(p, t, n.Name)] = true
	}
	if r.Opts.Check {
		return
	}
	if err := r.pending.save(h.Name, st.notified); err != nil {
		r.Sink.Emit(output.Warning{Host: h.Name, Msg: "could not record pending handlers: " + err.Error()})
	}
}

// handlerFullName finds the handler a task's notify names: its own role's first, then the
// play's.
func handlerFullName(p *config.Play, t *config.Task, name string) string {
	if t.Role != nil {
		for _, h := range t.Role.Handlers {
			if h.Name == name {
				return h.FullName()
			}
		}
	}
	for _, h := range p.AllHandlers() {
		if h.Name == name {
			return h.FullName()
		}
	}
	return name
}

func (r *Runner) count(st *hostState, s output.Status) {
	c := &st.counts
	switch s {
	case output.StatusOK:
		c.OK++
	case output.StatusChanged:
		c.OK++
		c.Changed++
	case output.StatusSkipped:
		c.Skipped++
	case output.StatusFailed:
		c.Failed++
	case output.StatusUnreachable:
		c.Unreachable++
	case output.StatusIgnored:
		c.Ignored++
	}
}

func (r *Runner) hostResult(p *config.Play, t *config.Task, h *inventory.Host, o outcome, d time.Duration) output.HostResult {
	hr := output.HostResult{Play: p.Name, Task: t.FullName(), Host: h.Name, Delegate: o.delegate,
		Item: o.item, Status: o.status, Duration: d, Attempts: o.tries}
	hr.Module = t.Module
	if o.res != nil {
		hr.Msg, hr.Stdout, hr.Stderr, hr.RC = o.res.Msg, o.res.Stdout, o.res.Stderr, o.res.RC
		for _, df := range o.res.Diffs {
			hr.Diffs = append(hr.Diffs, output.FileDiff(df))
		}
	}
	if o.err != nil {
		hr.Msg = o.err.Error()
	}
	// Everything a person or a CI log sees passes here: one place to hide secrets.
	if redact := o.redact; redact != nil {
		hr.Msg, hr.Stdout, hr.Stderr = redact(hr.Msg), redact(hr.Stdout), redact(hr.Stderr)
		for i := range hr.Diffs {
			hr.Diffs[i].Before, hr.Diffs[i].After = redact(hr.Diffs[i].Before), redact(hr.Diffs[i].After)
		}
	}
	return hr
}

func failure(err error) outcome {
	o := outcome{status: output.StatusFailed, err: err}
	o.value = resultValue(o)
	return o
}

func aggregate(outs []outcome) output.Status {
	rank := map[output.Status]int{
		output.StatusSkipped: 0, output.StatusOK: 1, output.StatusChanged: 2,
		output.StatusIgnored: 3, output.StatusInterrupted: 4, output.StatusFailed: 5, output.StatusUnreachable: 6,
	}
	best := output.StatusSkipped
	for _, o := range outs {
		if rank[o.status] > rank[best] {
			best = o.status
		}
	}
	return best
}

func diagError(diags hcl.Diagnostics) error {
	var parts []string
	for _, d := range diags {
		if d.Severity != hcl.DiagError {
			continue
		}
		s := d.Summary
		if d.Detail != "" {
			s += ": " + d.Detail
		}
		if d.Subject != nil {
			s = d.Subject.String() + ": " + s
		}
		parts = append(parts, s)
	}
	return errors.New(strings.Join(parts, "; "))
}

// settle applies what an outcome means for the host, whichever step of the task it came
// from: an unreachable host and a failed one leave the run, unless the task ignores errors.
// interrupted marks the outcomes a cancelled run cut short as interrupted, not failed, and
// the host as in the middle of t; a task that finished before the cancellation keeps its
// outcome.
func interrupted(t *config.Task, st *hostState, outs []outcome) {
	for i := range outs {
		if s := outs[i].status; s == output.StatusFailed || s == output.StatusUnreachable {
			outs[i].status = output.StatusInterrupted
			st.interrupted = t.FullName()
		}
	}
}

func settle(t *config.Task, st *hostState, outs []outcome) {
	for i := range outs {
		switch outs[i].status {
		case output.StatusUnreachable:
			st.unreachable = true
		case output.StatusFailed:
			if t.IgnoreErrors {
				outs[i].status = output.StatusIgnored
			} else {
				st.failed = true
			}
		}
	}
}
