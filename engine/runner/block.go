package runner

import (
	"context"

	"github.com/kplay-dev/kplay/engine/config"
	"github.com/kplay-dev/kplay/engine/inventory"
	"github.com/kplay-dev/kplay/engine/output"
)

// runBlock runs the selected tasks of one block: its main tasks on the hosts its condition
// holds for, its rescue tasks on the hosts one of them failed on, and its always tasks on
// every host of the block that can still be reached, failed or not.
func (r *Runner) runBlock(ctx context.Context, p *config.Play, blk *config.Block, tasks []*config.Task, hosts []*inventory.Host) {
	hosts = r.blockHosts(p, blk, hosts)
	if len(hosts) == 0 {
		return // the condition holds nowhere: the block is skipped as a whole
	}
	sections := map[config.Section][]*config.Task{}
	for _, t := range tasks {
		sections[t.Section] = append(sections[t.Section], t)
	}
	for _, t := range sections[config.SectionMain] {
		if ctx.Err() != nil {
			return
		}
		r.runTask(ctx, p, t, r.alive(hosts))
	}
	if failed := r.failedOf(hosts); len(failed) > 0 && len(blk.Rescue) > 0 {
		for _, h := range failed {
			st := r.state(h)
			st.failed = false
			st.counts.Failed--
			st.counts.Rescued++
		}
		for _, t := range sections[config.SectionRescue] {
			if ctx.Err() != nil {
				return
			}
			r.runTask(ctx, p, t, r.alive(failed))
		}
	}
	// always runs on failed hosts too; they stay failed afterwards.
	failed := r.failedOf(hosts)
	for _, h := range failed {
		r.state(h).failed = false
	}
	for _, t := range sections[config.SectionAlways] {
		if ctx.Err() != nil {
			break
		}
		r.runTask(ctx, p, t, r.alive(hosts))
	}
	for _, h := range failed {
		r.state(h).failed = true
	}
}

// blockHosts keeps the hosts the block's condition holds for; a host where it cannot be
// evaluated fails.
func (r *Runner) blockHosts(p *config.Play, blk *config.Block, hosts []*inventory.Host) []*inventory.Host {
	if blk.When == nil {
		return hosts
	}
	var out []*inventory.Host
	for _, h := range hosts {
		st := r.state(h)
		vars, diags := r.vars(h, p, blk.Role)
		if diags.HasErrors() {
			r.blockFailure(p, blk, h, st, diagError(diags))
			continue
		}
		ok, err := evalBool(blk.When, r.Env.Scope(h, vars.Values, st.registeredCopy()).Context())
		switch {
		case err != nil:
			r.blockFailure(p, blk, h, st, err)
		case ok == nil || *ok:
			out = append(out, h)
		}
	}
	return out
}

func (r *Runner) blockFailure(p *config.Play, blk *config.Block, h *inventory.Host, st *hostState, err error) {
	st.failed = true
	st.counts.Failed++
	r.Sink.Emit(output.HostResult{Play: p.Name, Task: "block " + blk.Name, Host: h.Name, Status: output.StatusFailed, Msg: err.Error()})
}

// failedOf returns the hosts among hosts that have failed (not the unreachable ones).
func (r *Runner) failedOf(hosts []*inventory.Host) []*inventory.Host {
	var out []*inventory.Host
	for _, h := range hosts {
		if st := r.state(h); st.failed && !st.unreachable {
			out = append(out, h)
		}
	}
	return out
}
