package runner

import (
	"context"
	"fmt"

	"github.com/kplay-dev/kplay/engine/config"
	"github.com/kplay-dev/kplay/engine/inventory"
	"github.com/kplay-dev/kplay/engine/modules"
	"github.com/kplay-dev/kplay/engine/output"
)

// skippedByStep is the message of a task the --step answer skipped.
const skippedByStep = "skipped at the --step prompt"

// stepAllows asks the Stepper, if there is one, whether t runs. A question nobody
// answers stops the run: guessing either way would run or skip tasks unasked. Ctrl-C at
// the question ends the wait at once: the reading goroutine is left to the process's exit.
func (r *Runner) stepAllows(ctx context.Context, t *config.Task) bool {
	if r.Step == nil || r.stepAll || t.Handler {
		return true
	}
	type reply struct {
		answer output.StepAnswer
		err    error
	}
	replies := make(chan reply, 1)
	go func() {
		a, err := r.Step.Confirm(t.FullName())
		replies <- reply{a, err}
	}()
	var answer output.StepAnswer
	var err error
	select {
	case rp := <-replies:
		answer, err = rp.answer, rp.err
	case <-ctx.Done():
		return false
	}
	if err != nil {
		r.Sink.Emit(output.Warning{Msg: fmt.Sprintf("--step: no answer about task %q (%v); the run stops", t.FullName(), err)})
		r.cancel()
		return false
	}
	r.stepAll = answer == output.StepContinue
	return answer != output.StepNo
}

// skipTask reports t as skipped on every host, registering what a skipped task registers
// so later conditions on it still evaluate.
func (r *Runner) skipTask(ctx context.Context, p *config.Play, t *config.Task, hosts []*inventory.Host) {
	if ctx.Err() != nil {
		return // the question went unanswered: nothing more is reported as run or skipped
	}
	r.Sink.Emit(taskStart(p, t, r.Opts.Check))
	for _, h := range hosts {
		st := r.state(h)
		o := outcome{status: output.StatusSkipped, res: &modules.Result{Skipped: true, Msg: skippedByStep}}
		o.value = resultValue(o)
		if t.Register != "" {
			st.registered[t.Register] = registerValue([]outcome{o}, t.ForEach != nil)
		}
		r.count(st, o.status)
		r.Sink.Emit(r.hostResult(p, t, h, o, 0))
	}
}
