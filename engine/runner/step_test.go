package runner_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kplay-dev/kplay/engine/connection/conntest"
	"github.com/kplay-dev/kplay/engine/output"
	"github.com/kplay-dev/kplay/engine/runner"
)

// scriptedStep answers --step's questions from a script and records them; past the end of
// the script nobody answers, as when piped answers run out.
type scriptedStep struct {
	answers []output.StepAnswer
	asked   []string
}

func (s *scriptedStep) Confirm(task string) (output.StepAnswer, error) {
	s.asked = append(s.asked, task)
	if len(s.answers) == 0 {
		return output.StepNo, output.ErrNoAnswer
	}
	a := s.answers[0]
	s.answers = s.answers[1:]
	return a, nil
}

var _ runner.Stepper = (*scriptedStep)(nil)

// commands lists, in order, the commands run on a host, the fact gather left out.
func commands(h *conntest.Host) []string {
	var out []string
	for _, c := range h.Calls() {
		if c.Op == conntest.OpRun && c.Command != "sh -s" {
			out = append(out, c.Command)
		}
	}
	return out
}

// --step: no skips a task on every host (and registers it as skipped), yes runs it,
// continue runs it and every later task unasked, block tasks included.
func TestStepRunsOnlyTheTasksAnsweredYes(t *testing.T) {
	rg := newRig(t, map[string]string{"hosts.hcl": "host \"n1\" {}\nhost \"n2\" {}\n", "site.hcl": play(`
  task "one" {
    shell { cmd = "echo one" }
    register = "one"
  }
  task "two" {
    shell { cmd = "echo two" }
  }
  task "three" {
    shell { cmd = "echo three" }
    when = registered.one.skipped
  }
  task "four" {
    shell { cmd = "echo four" }
  }
  block "b" {
    task "five" {
      shell { cmd = "echo five" }
    }
  }
  task "six" {
    shell { cmd = "echo six" }
  }
`)})
	step := &scriptedStep{answers: []output.StepAnswer{output.StepNo, output.StepYes, output.StepYes, output.StepContinue}}
	rg.step = step
	res := rg.mustRun()

	if got := strings.Join(step.asked, ","); got != "one,two,three,four" {
		t.Errorf("asked about %s, want one,two,three,four (none after continue)", got)
	}
	want := []string{"echo two", "echo three", "echo four", "echo five", "echo six"}
	for _, h := range []string{"n1", "n2"} {
		if got := commands(rg.fleet.Host(h)); !slices.Equal(got, want) {
			t.Errorf("%s ran %q, want %q", h, got, want)
		}
		r := rg.sink.results("one")[h]
		if r.Status != output.StatusSkipped || !strings.Contains(r.Msg, "--step") {
			t.Errorf("%s: task one reported %s %q, want skipped by --step", h, r.Status, r.Msg)
		}
		if c := res.Recap.Counts[h]; c.Skipped != 1 || c.Changed != 5 {
			t.Errorf("%s recap %+v, want 1 skipped and 5 changed", h, c)
		}
	}
	if got := strings.Join(rg.sink.taskStarts(), ","); got != "one,two,three,four,five,six" {
		t.Errorf("tasks reported: %s", got)
	}
	if res.Recap.Interrupted {
		t.Error("a fully answered run is reported as interrupted")
	}
}

// Handlers are never asked about: a yes to the task that notified one is enough.
func TestStepDoesNotAskAboutHandlers(t *testing.T) {
	rg := newRig(t, map[string]string{"hosts.hcl": "host \"n1\" {}\n", "site.hcl": play(`
  task "configure" {
    shell { cmd = "echo configure" }
    notify = ["restart"]
  }
  handler "restart" {
    shell { cmd = "echo restart" }
  }
`)})
	step := &scriptedStep{answers: []output.StepAnswer{output.StepYes}}
	rg.step = step
	res := rg.mustRun()
	if got := strings.Join(step.asked, ","); got != "configure" {
		t.Errorf("asked about %s, want configure only", got)
	}
	if got := commands(rg.fleet.Host("n1")); !slices.Equal(got, []string{"echo configure", "echo restart"}) {
		t.Errorf("n1 ran %q", got)
	}
	if res.Recap.Interrupted {
		t.Error("run reported as interrupted")
	}
}

// Answers that run out stop the run as an interruption does: the unanswered task and
// everything after it, handlers included, stay undone, and a notified handler is kept
// for the next run.
func TestStepWithoutAnswerStopsTheRun(t *testing.T) {
	rg := newRig(t, map[string]string{"hosts.hcl": "host \"n1\" {}\n", "site.hcl": play(`
  task "configure" {
    shell { cmd = "echo configure" }
    notify = ["restart"]
  }
  task "unanswered" {
    shell { cmd = "echo unanswered" }
  }
  task "later" {
    shell { cmd = "echo later" }
  }
  handler "restart" {
    shell { cmd = "echo restart" }
  }
`) + `
play "second" {
  hosts        = "n1"
  gather_facts = false
  task "other play" {
    shell { cmd = "echo other" }
  }
}
`})
	step := &scriptedStep{answers: []output.StepAnswer{output.StepYes}}
	rg.step = step
	res := rg.mustRun()
	if got := strings.Join(step.asked, ","); got != "configure,unanswered" {
		t.Errorf("asked about %s, want configure,unanswered", got)
	}
	if got := commands(rg.fleet.Host("n1")); !slices.Equal(got, []string{"echo configure"}) {
		t.Errorf("n1 ran %q, want only the answered task", got)
	}
	if !res.Recap.Interrupted {
		t.Error("recap does not say the run was interrupted")
	}
	if _, reported := rg.sink.results("unanswered")["n1"]; reported {
		t.Error("the unanswered task has a result")
	}
	if w := strings.Join(rg.sink.warnings(), "\n"); !strings.Contains(w, "--step") || !strings.Contains(w, "unanswered") {
		t.Errorf("warnings %q do not say --step stopped at the unanswered task", w)
	}
	if _, err := os.Stat(filepath.Join(rg.dir, "state", "pending-handlers", "n1.json")); err != nil {
		t.Errorf("the notified handler is not kept for the next run: %v", err)
	}
}

// Each play says, per host, whether its facts came from the cache (with their age and
// TTL) or were gathered; --flush-cache gathers again.
func TestFactsSourceReported(t *testing.T) {
	rg := newRig(t, map[string]string{"hosts.hcl": "host \"n1\" {}\nhost \"n2\" {}\n", "site.hcl": `
play "p" {
  hosts = "all"
  task "t" {
    shell { cmd = "true" }
  }
}
`})
	rg.opts.FactTTL = time.Hour
	facts := func() map[string]output.FactsLoaded {
		out := map[string]output.FactsLoaded{}
		for _, e := range rg.sink.all() {
			if f, ok := e.(output.FactsLoaded); ok {
				if _, dup := out[f.Host]; dup {
					t.Errorf("facts of %s reported twice in one play", f.Host)
				}
				out[f.Host] = f
			}
		}
		return out
	}

	rg.mustRun()
	for _, h := range []string{"n1", "n2"} {
		if f := facts()[h]; f.Source != output.FactsGathered {
			t.Errorf("first run, %s: %+v, want gathered", h, f)
		}
	}

	rg.mustRun()
	for _, h := range []string{"n1", "n2"} {
		f := facts()[h]
		if f.Source != output.FactsFromCache || f.TTL != time.Hour || f.Age < 0 || f.Age > time.Hour {
			t.Errorf("second run, %s: %+v, want from the cache with its age and a 1h TTL", h, f)
		}
	}

	rg.opts.FlushCache = true
	rg.mustRun()
	for _, h := range []string{"n1", "n2"} {
		if f := facts()[h]; f.Source != output.FactsGathered || f.Age != 0 {
			t.Errorf("--flush-cache, %s: %+v, want gathered", h, f)
		}
		gathers := 0
		for _, c := range rg.fleet.Host(h).Calls() {
			if c.Command == "sh -s" {
				gathers++
			}
		}
		if gathers != 2 {
			t.Errorf("%s: facts gathered %d times in three runs, want 2 (the cached run asks nothing)", h, gathers)
		}
	}
}
