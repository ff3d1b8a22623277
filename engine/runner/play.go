package runner

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/kplay-dev/kplay/engine/config"
	"github.com/kplay-dev/kplay/engine/connection"
	"github.com/kplay-dev/kplay/engine/facts"
	"github.com/kplay-dev/kplay/engine/inventory"
	"github.com/kplay-dev/kplay/engine/output"
)

func (r *Runner) runPlay(ctx context.Context, p *config.Play, limit map[*inventory.Host]bool) error {
	all, err := r.Inv.Resolve(p.Hosts)
	if err != nil {
		return err
	}
	var hosts []*inventory.Host
	for _, h := range all {
		if (limit == nil || limit[h]) && !r.state(h).out() {
			hosts = append(hosts, h)
		}
	}
	r.Sink.Emit(output.PlayStart{Name: p.Name, Hosts: hostNames(hosts)})
	if len(hosts) == 0 {
		r.Sink.Emit(output.Warning{Msg: "no hosts left to run on; play skipped"})
		return nil
	}
	tasks := r.selectTasks(p)
	for _, batch := range batches(p.Serial, hosts) {
		if ctx.Err() != nil {
			break
		}
		if r.runBatch(ctx, p, tasks, batch) {
			if p.AnyErrorsFatal {
				// As in Ansible: a fatal error ends the whole run, not just the play.
				r.stopped = true
			}
			break
		}
	}
	return nil
}

// selectTasks returns the play's tasks that --tags and --start-at-task leave to run.
func (r *Runner) selectTasks(p *config.Play) []*config.Task {
	var out []*config.Task
	for _, t := range p.AllTasks() {
		if !r.started && startsHere(t, r.Opts.StartAt) {
			r.started = true
		}
		if r.started && r.Opts.Tags.Selects(p, t) {
			out = append(out, t)
		}
	}
	return out
}

// runBatch runs the play's tasks and then its handlers on one batch of hosts. It returns
// true when the play must stop: any_errors_fatal or max_fail_percentage was crossed.
func (r *Runner) runBatch(ctx context.Context, p *config.Play, tasks []*config.Task, hosts []*inventory.Host) bool {
	size := len(hosts)
	if p.GatherFacts {
		hosts = r.gatherFacts(ctx, p, hosts)
	}
	r.loadPending(p, hosts)
	stop := false
	for i := 0; i < len(tasks); {
		hosts = r.alive(hosts)
		if ctx.Err() != nil || len(hosts) == 0 {
			break
		}
		if blk := tasks[i].Block; blk != nil {
			n := 1
			for i+n < len(tasks) && tasks[i+n].Block == blk {
				n++
			}
			r.runBlock(ctx, p, blk, tasks[i:i+n], hosts)
			i += n
		} else {
			r.runTask(ctx, p, tasks[i], hosts)
			i++
		}
		failed := size - len(r.alive(hosts))
		if p.AnyErrorsFatal && failed > 0 {
			r.Sink.Emit(output.Warning{Msg: "any_errors_fatal: a host failed, the run stops"})
			stop = true
			break
		}
		if p.MaxFailPercentage >= 0 && failed*100 > p.MaxFailPercentage*size {
			r.Sink.Emit(output.Warning{Msg: fmt.Sprintf("max_fail_percentage: %d of %d hosts of the batch failed, the play stops", failed, size)})
			stop = true
			break
		}
	}
	r.runHandlers(ctx, p, r.alive(hosts))
	return stop
}

// batches splits hosts as serial says: each entry a count or a share of all the play's
// hosts, the last entry repeating until every host has had its turn.
func batches(serial []string, hosts []*inventory.Host) [][]*inventory.Host {
	if len(serial) == 0 {
		return [][]*inventory.Host{hosts}
	}
	var out [][]*inventory.Host
	for i := 0; len(hosts) > 0; i++ {
		n := batchSize(serial[min(i, len(serial)-1)], len(hosts)+countHosts(out))
		n = min(max(n, 1), len(hosts))
		out = append(out, hosts[:n])
		hosts = hosts[n:]
	}
	return out
}

func batchSize(s string, total int) int {
	if pct, ok := strings.CutSuffix(s, "%"); ok {
		n, _ := strconv.Atoi(pct)
		return total * n / 100
	}
	n, _ := strconv.Atoi(s)
	return n
}

func countHosts(b [][]*inventory.Host) int {
	n := 0
	for _, x := range b {
		n += len(x)
	}
	return n
}

func (r *Runner) alive(hosts []*inventory.Host) []*inventory.Host {
	var out []*inventory.Host
	for _, h := range hosts {
		if !r.state(h).out() {
			out = append(out, h)
		}
	}
	return out
}

// gatherFacts connects to every host and loads its facts, from the cache when fresh. A
// host that cannot be reached is reported and leaves the run.
func (r *Runner) gatherFacts(ctx context.Context, p *config.Play, hosts []*inventory.Host) []*inventory.Host {
	var wg sync.WaitGroup
	sem := make(chan struct{}, r.Opts.Forks)
	var mu sync.Mutex
	var failed []output.HostResult
	// Where each host's facts came from is reported in host order, not as gathers end.
	loaded := make([]output.FactsLoaded, len(hosts))
	for i, h := range hosts {
		if r.state(h).factsReady {
			continue // an earlier play of this run has them
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			ev, err := r.factsFor(ctx, h)
			if err == nil {
				r.state(h).factsReady = true
				loaded[i] = ev
			}
			if err != nil {
				st := r.state(h)
				status := output.StatusFailed
				if connection.IsUnreachable(err) {
					st.unreachable, status = true, output.StatusUnreachable
					st.counts.Unreachable++
				} else {
					st.failed = true
					st.counts.Failed++
				}
				mu.Lock()
				failed = append(failed, output.HostResult{Play: p.Name, Task: "gather facts", Host: h.Name, Status: status, Msg: err.Error()})
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	for _, ev := range loaded {
		if ev.Host != "" {
			r.Sink.Emit(ev)
		}
	}
	if len(failed) > 0 {
		r.Sink.Emit(output.TaskStart{Play: p.Name, Name: "gather facts"})
		for _, f := range failed {
			r.Sink.Emit(f)
		}
	}
	return r.alive(hosts)
}

// refreshFacts gathers h's facts again, bypassing the cache, after a task with
// refresh_facts changed the host; a failure is a warning, the old facts stay.
func (r *Runner) refreshFacts(ctx context.Context, h *inventory.Host) {
	ev, err := r.gatherFresh(ctx, h)
	if err != nil {
		r.Sink.Emit(output.Warning{Host: h.Name, Msg: "refreshing facts: " + err.Error()})
		return
	}
	r.Sink.Emit(ev)
}

// factsFor gives h its facts for the play, from the cache while they are fresh, and says
// where they came from.
func (r *Runner) factsFor(ctx context.Context, h *inventory.Host) (output.FactsLoaded, error) {
	if f, age := r.cache.Load(h.Name, h.Endpoint()); f != nil {
		r.Log.Debug("facts from cache", "host", h.Name, "age", age)
		// The connection is still opened now, so an unreachable host is found at the
		// start of the play rather than in the middle of it.
		if _, err := r.conn(ctx, h); err != nil {
			return output.FactsLoaded{}, asUnreachable(h, err)
		}
		ev := output.FactsLoaded{Host: h.Name, Source: output.FactsFromCache, Age: age, TTL: r.cache.TTL}
		return ev, r.setFacts(h, f)
	}
	return r.gatherFresh(ctx, h)
}

// gatherFresh gathers h's facts over its connection and caches them.
func (r *Runner) gatherFresh(ctx context.Context, h *inventory.Host) (output.FactsLoaded, error) {
	t, err := r.target(ctx, h, false)
	if err != nil {
		return output.FactsLoaded{}, err
	}
	f, err := facts.Gather(ctx, t.Conn)
	if err != nil {
		return output.FactsLoaded{}, err
	}
	if err := r.cache.Store(h.Name, h.Endpoint(), f); err != nil {
		r.Log.Warn("storing facts", "host", h.Name, "err", err)
	}
	return output.FactsLoaded{Host: h.Name, Source: output.FactsGathered}, r.setFacts(h, f)
}

// preloadFacts makes every host's cached facts visible before any play, so hosts["n1"].facts
// works in a run that --limit keeps away from n1. A host a play connects to gets its own
// again in gatherFacts.
func (r *Runner) preloadFacts() {
	if r.Opts.FlushCache {
		return
	}
	for _, h := range r.Inv.Hosts {
		if f, _ := r.cache.Load(h.Name, h.Endpoint()); f != nil {
			if err := r.setFacts(h, f); err != nil {
				r.Log.Warn("cached facts", "host", h.Name, "err", err)
			}
		}
	}
}

func (r *Runner) setFacts(h *inventory.Host, f *facts.Facts) error {
	v, err := f.Value()
	if err != nil {
		return err
	}
	r.Env.SetFacts(h.Name, v)
	return nil
}

func asUnreachable(h *inventory.Host, err error) error {
	if connection.IsUnreachable(err) {
		return err
	}
	return &connection.UnreachableError{Host: h.Name, Err: err}
}

// loadPending marks handlers that an earlier run notified but never ran.
func (r *Runner) loadPending(p *config.Play, hosts []*inventory.Host) {
	handlers := map[string]bool{}
	for _, h := range p.AllHandlers() {
		handlers[h.FullName()] = true
	}
	for _, h := range hosts {
		st := r.state(h)
		for _, name := range r.pending.load(h.Name) {
			if handlers[name] && !st.notified[name] {
				st.notified[name] = true
				r.Sink.Emit(output.Warning{Host: h.Name, Msg: "handler " + name + " was notified by an earlier run that did not finish; it will run"})
			}
		}
	}
}

// runHandlers runs each notified handler, in definition order, on the hosts that notified it.
func (r *Runner) runHandlers(ctx context.Context, p *config.Play, hosts []*inventory.Host) {
	for _, hd := range p.AllHandlers() {
		if ctx.Err() != nil {
			return
		}
		var targets []*inventory.Host
		for _, h := range r.alive(hosts) {
			if r.state(h).notified[hd.FullName()] {
				targets = append(targets, h)
			}
		}
		if len(targets) == 0 {
			continue
		}
		r.runTask(ctx, p, hd, targets)
		for _, h := range targets {
			st := r.state(h)
			if st.out() || r.Opts.Check {
				continue
			}
			delete(st.notified, hd.FullName())
			if err := r.pending.save(h.Name, st.notified); err != nil {
				r.Sink.Emit(output.Warning{Host: h.Name, Msg: "could not update pending handlers: " + err.Error()})
			}
		}
	}
}

func hostNames(hosts []*inventory.Host) []string {
	out := make([]string, len(hosts))
	for i, h := range hosts {
		out[i] = h.Name
	}
	return out
}
