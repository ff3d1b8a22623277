package runner_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kplay-dev/kplay/engine/connection"
	"github.com/kplay-dev/kplay/engine/connection/conntest"
	"github.com/kplay-dev/kplay/engine/output"
	"github.com/kplay-dev/kplay/engine/runner"
)

func hostsOf(m map[string]output.HostResult) string {
	var out []string
	for h := range m {
		out = append(out, h)
	}
	sort.Strings(out)
	return strings.Join(out, ",")
}

func TestLinearOrder(t *testing.T) {
	rg := newRig(t, map[string]string{"hosts.hcl": threeHosts, "site.hcl": play(`
  task "one" {
    shell { cmd = "echo one" }
  }
  task "two" {
    shell { cmd = "echo two" }
  }
`)})
	res := rg.mustRun()

	// Every host's result of task one is out before task two starts.
	events := rg.sink.all()
	if _, ok := events[0].(output.PlayStart); !ok {
		t.Errorf("first event is %T, want PlayStart", events[0])
	}
	if _, ok := events[len(events)-1].(output.Recap); !ok {
		t.Errorf("last event is %T, want Recap", events[len(events)-1])
	}
	var seq []string
	for _, e := range events {
		switch e := e.(type) {
		case output.TaskStart:
			seq = append(seq, "start "+e.Name)
		case output.HostResult:
			seq = append(seq, e.Task)
		}
	}
	if got := strings.Join(seq, "|"); got != "start one|one|one|one|start two|two|two|two" {
		t.Errorf("event order: %s", got)
	}

	// And on the hosts, every command of task one returned before any of task two ran.
	var cmds []string
	for _, c := range rg.fleet.Calls() {
		if c.Op == conntest.OpRun {
			cmds = append(cmds, c.Command)
		}
	}
	if got := strings.Join(cmds, "|"); got != "echo one|echo one|echo one|echo two|echo two|echo two" {
		t.Errorf("commands in order: %s", got)
	}
	for _, h := range []string{"n1", "n2", "n3"} {
		c := res.Recap.Counts[h]
		if c.OK != 2 || c.Changed != 2 || c.Failed != 0 {
			t.Errorf("recap of %s = %+v", h, c)
		}
		if !rg.fleet.Host(h).Closed() {
			t.Errorf("connection to %s not closed after the run", h)
		}
		if rg.fleet.Dials(h) != 1 {
			t.Errorf("%s dialed %d times, want once per run", h, rg.fleet.Dials(h))
		}
	}
	if res.Failed() || res.Unreachable() {
		t.Error("run reports a failure")
	}
}

func TestFailedHostLeavesThePlayOthersContinue(t *testing.T) {
	rg := newRig(t, map[string]string{"hosts.hcl": threeHosts, "site.hcl": play(`
  task "one" {
    shell { cmd = host.name == "n2" ? "fail 3" : "true" }
  }
  task "two" {
    shell { cmd = "echo two" }
  }
`) + `
play "second" {
  hosts = "nodes"
  gather_facts = false
  task "three" {
    shell { cmd = "echo three" }
  }
}
`})
	res := rg.mustRun()
	one := rg.sink.results("one")
	if one["n2"].Status != output.StatusFailed || !strings.Contains(one["n2"].Msg, "non-zero exit status 3") {
		t.Errorf("n2 on task one: %+v", one["n2"])
	}
	if one["n2"].RC == nil || *one["n2"].RC != 3 || one["n2"].Stderr != "failed\n" {
		t.Errorf("n2's failed result lacks rc/stderr: %+v", one["n2"])
	}
	if got := hostsOf(rg.sink.results("two")); got != "n1,n3" {
		t.Errorf("task two ran on %s, want n1,n3", got)
	}
	if got := hostsOf(rg.sink.results("three")); got != "n1,n3" {
		t.Errorf("a later play ran on %s, want n1,n3", got)
	}
	if c := res.Recap.Counts["n2"]; c.Failed != 1 || c.OK != 0 {
		t.Errorf("recap of n2 = %+v", c)
	}
	if !res.Failed() || res.Unreachable() {
		t.Errorf("Failed() = %v, Unreachable() = %v", res.Failed(), res.Unreachable())
	}
}

func TestUnreachableHosts(t *testing.T) {
	rg := newRig(t, map[string]string{"hosts.hcl": threeHosts, "site.hcl": `
play "p" {
  hosts = "all"
  task "one" {
    shell { cmd = "echo one" }
  }
  task "two" {
    shell { cmd = "echo two" }
  }
}
`})
	// n2 is down before the run; n3 goes away during task one.
	rg.fleet.RefuseDial("n2", errors.New("connection refused"))
	rg.fleet.Host("n3").FailWhen(func(c conntest.Call) bool { return c.Command == "echo one" },
		&connection.UnreachableError{Host: "n3", Err: errors.New("broken pipe")})
	res := rg.mustRun()

	facts := rg.sink.results("gather facts")
	if facts["n2"].Status != output.StatusUnreachable || !strings.Contains(facts["n2"].Msg, "connection refused") {
		t.Errorf("n2 at gather facts: %+v", facts["n2"])
	}
	if hostsOf(facts) != "n2" {
		t.Errorf("gather facts reported %s, want only the unreachable n2", hostsOf(facts))
	}
	one := rg.sink.results("one")
	if one["n3"].Status != output.StatusUnreachable {
		t.Errorf("n3 on task one: %+v", one["n3"])
	}
	if got := hostsOf(one); got != "n1,n3" {
		t.Errorf("task one ran on %s", got)
	}
	if got := hostsOf(rg.sink.results("two")); got != "n1" {
		t.Errorf("task two ran on %s, want n1", got)
	}
	for _, h := range []string{"n2", "n3"} {
		if c := res.Recap.Counts[h]; c.Unreachable != 1 || c.Failed != 0 {
			t.Errorf("recap of %s = %+v, want unreachable=1 failed=0", h, c)
		}
	}
	if !res.Unreachable() || res.Failed() {
		t.Errorf("Unreachable() = %v, Failed() = %v", res.Unreachable(), res.Failed())
	}
}

func TestWhenForEachRegister(t *testing.T) {
	rg := newRig(t, map[string]string{"hosts.hcl": threeHosts, "site.hcl": play(`
  task "items" {
    shell { cmd = "echo ${each.value}" }
    for_each = ["a", "b"]
    register = "items"
  }
  task "map items" {
    debug { msg = "${each.key}=${each.value}" }
    for_each = { x = 1, y = 2 }
  }
  task "show items" {
    debug { msg = join(",", [for r in registered.items.results : trimspace(r.stdout)]) }
  }
  task "only n2" {
    shell { cmd = "echo n2" }
    when = host.name == "n2"
    register = "only"
  }
  task "show only" {
    debug { msg = "${registered.only.skipped}/${registered.only.changed}" }
  }
  task "no items" {
    shell { cmd = "echo never" }
    for_each = []
  }
`)})
	res := rg.mustRun()
	items := rg.sink.resultList("items")
	if len(items) != 6 {
		t.Fatalf("items gave %d results, want one per item and host", len(items))
	}
	for _, hr := range items {
		if hr.Status != output.StatusChanged || (hr.Item != "0" && hr.Item != "1") {
			t.Errorf("item result %+v", hr)
		}
	}
	var mapItems []string
	for _, hr := range rg.sink.resultList("debug") {
		if hr.Host == "n1" {
			mapItems = append(mapItems, hr.Item+":"+hr.Msg)
		}
	}
	want := []string{"x:x=1", "y:y=2", ":a,b", ":true/false"}
	if strings.Join(mapItems, " ") != strings.Join(want, " ") {
		t.Errorf("debug results on n1 = %q, want %q", mapItems, want)
	}
	only := rg.sink.results("only n2")
	if only["n1"].Status != output.StatusSkipped || only["n2"].Status != output.StatusChanged {
		t.Errorf("when: n1 %s, n2 %s", only["n1"].Status, only["n2"].Status)
	}
	for _, hr := range rg.sink.resultList("debug") {
		if hr.Host == "n2" && strings.Contains(hr.Msg, "/") && hr.Msg != "false/true" {
			t.Errorf("registered value of a task that ran on n2: %s", hr.Msg)
		}
	}
	if n := strings.Count(strings.Join(rg.fleet.Host("n1").Commands(), "\n"), "echo never"); n != 0 {
		t.Error("an empty for_each ran its module")
	}
	if c := res.Recap.Counts["n1"]; c.Skipped < 2 {
		t.Errorf("n1 skipped %d, want the when and the empty loop counted", c.Skipped)
	}
}

func TestUntilRetries(t *testing.T) {
	rg := newRig(t, map[string]string{"hosts.hcl": `host "n1" {}`, "site.hcl": play(`
  task "wait" {
    shell { cmd = "count" }
    register = "c"
    until = trimspace(registered.c.stdout) == "3"
    retries = 5
    delay = "1ms"
  }
  task "give up" {
    shell { cmd = "count" }
    register = "d"
    until = trimspace(registered.d.stdout) == "100"
    retries = 2
    delay = "1ms"
  }
`)})
	rg.mustRun()
	w := rg.sink.results("wait")["n1"]
	if w.Status != output.StatusChanged || w.Attempts != 3 || w.Stdout != "3\n" {
		t.Errorf("wait: status %s after %d attempts, stdout %q", w.Status, w.Attempts, w.Stdout)
	}
	g := rg.sink.results("give up")["n1"]
	if g.Status != output.StatusFailed || g.Attempts != 3 || !strings.Contains(g.Msg, "until condition still false after 3 attempts") {
		t.Errorf("give up: %+v", g)
	}
}

// An explicit delay = "0s" means no delay, not the one-second default.
func TestUntilDelayZeroIsKept(t *testing.T) {
	rg := newRig(t, map[string]string{"hosts.hcl": `host "n1" {}`, "site.hcl": play(`
  task "wait" {
    shell { cmd = "true" }
    until = true
    delay = "0s"
  }
`)})
	rg.mustRun()
	l := newLoaderTask(t, rg)
	if l.Delay != 0 {
		t.Fatalf("delay = \"0s\" decodes to %s (config/task.go replaces a zero delay by the "+
			"1s default even when written)", l.Delay)
	}
}

func TestChangedWhenFailedWhenIgnoreErrors(t *testing.T) {
	rg := newRig(t, map[string]string{"hosts.hcl": `host "n1" {}`, "site.hcl": play(`
  task "never changes" {
    shell { cmd = "echo same" }
    changed_when = false
  }
  task "changed on output" {
    shell { cmd = "echo updated" }
    register = "u"
    changed_when = length(regexall("updated", registered.u.stdout)) > 0
  }
  task "tolerated exit" {
    shell { cmd = "fail 1" }
    register = "g"
    failed_when = registered.g.rc > 1
  }
  task "ignored" {
    shell { cmd = "fail 2" }
    ignore_errors = true
    register = "ig"
  }
  task "sees ignored" {
    debug { msg = "${registered.ig.failed} ${registered.ig.rc}" }
  }
  task "fails on output" {
    shell { cmd = "echo ERROR: disk full" }
    register = "o"
    failed_when = substr(registered.o.stdout, 0, 6) == "ERROR:"
  }
  task "after" {
    shell { cmd = "echo after" }
  }
`)})
	res := rg.mustRun()
	status := func(task string) output.Status { return rg.sink.results(task)["n1"].Status }
	checks := []struct {
		task string
		want output.Status
	}{
		{"never changes", output.StatusOK},
		{"changed on output", output.StatusChanged},
		{"tolerated exit", output.StatusChanged},
		{"ignored", output.StatusIgnored},
		{"debug", output.StatusOK},
		{"fails on output", output.StatusFailed},
	}
	for _, c := range checks {
		if got := status(c.task); got != c.want {
			t.Errorf("%s: %s, want %s (%s)", c.task, got, c.want, rg.sink.results(c.task)["n1"].Msg)
		}
	}
	if got := rg.sink.results("debug")["n1"].Msg; got != "true 2" {
		t.Errorf("registered ignored failure = %q, want \"true 2\"", got)
	}
	if _, ran := rg.sink.results("after")["n1"]; ran {
		t.Error("the host went on after failed_when failed it")
	}
	if c := res.Recap.Counts["n1"]; c.Ignored != 1 || c.Failed != 1 {
		t.Errorf("recap = %+v, want ignored=1 failed=1", c)
	}
}

func TestRunOnceRegistersForAllHosts(t *testing.T) {
	rg := newRig(t, map[string]string{"hosts.hcl": threeHosts, "site.hcl": play(`
  task "once" {
    shell { cmd = "echo token-123" }
    run_once = true
    register = "tok"
  }
  task "use" {
    debug { msg = trimspace(registered.tok.stdout) }
  }
`)})
	rg.mustRun()
	ran := 0
	for _, c := range rg.fleet.Calls() {
		if c.Command == "echo token-123" {
			ran++
		}
	}
	if ran != 1 {
		t.Errorf("run_once task ran %d times", ran)
	}
	uses := rg.sink.results("debug")
	for _, h := range []string{"n1", "n2", "n3"} {
		if uses[h].Msg != "token-123" {
			t.Errorf("%s sees %q, want the run_once result", h, uses[h].Msg)
		}
	}
}

func TestTagSelection(t *testing.T) {
	files := map[string]string{
		"hosts.hcl": `host "n1" {}`,
		"site.hcl": `
play "p" {
  hosts = "all"
  gather_facts = false
  roles = ["web"]
  task "play task" {
    shell { cmd = "echo play" }
    tags = ["extra"]
  }
}
`,
		"roles/web/main.hcl": `
task "tagged a" {
  shell { cmd = "echo a" }
  tags = ["a"]
}
task "always" {
  shell { cmd = "echo always" }
  tags = ["always"]
}
task "never" {
  shell { cmd = "echo never" }
  tags = ["never", "debugonly"]
}
task "plain" {
  shell { cmd = "echo plain" }
}
`,
	}
	tests := []struct {
		name string
		tags runner.Tags
		want string
	}{
		{"no tags", runner.Tags{}, "tagged a,always,plain,play task"},
		{"all", runner.Tags{Only: []string{"all"}}, "tagged a,always,plain,play task"},
		{"one tag", runner.Tags{Only: []string{"a"}}, "tagged a,always"},
		// The role's name is a tag of each of its tasks, so it selects its never task too.
		{"role name", runner.Tags{Only: []string{"web"}}, "tagged a,always,never,plain"},
		{"never by its other tag", runner.Tags{Only: []string{"debugonly"}}, "always,never"},
		{"never by name", runner.Tags{Only: []string{"never"}}, "always,never"},
		{"skip", runner.Tags{Skip: []string{"a", "extra"}}, "always,plain"},
		{"skip always", runner.Tags{Only: []string{"a"}, Skip: []string{"always"}}, "tagged a"},
		{"skip role", runner.Tags{Skip: []string{"web"}}, "play task"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rg := newRig(t, files)
			rg.opts.Tags = tt.tags
			rg.mustRun()
			if got := strings.Join(rg.sink.taskStarts(), ","); got != tt.want {
				t.Errorf("tasks run: %s, want %s", got, tt.want)
			}
		})
	}
}

func TestHandlers(t *testing.T) {
	rg := newRig(t, map[string]string{"hosts.hcl": threeHosts, "site.hcl": play(`
  task "t1" {
    shell { cmd = "echo t1" }
    when = host.name == "n1"
    notify = ["second"]
  }
  task "t2" {
    shell { cmd = "echo t2" }
    when = host.name != "n3"
    notify = ["first"]
  }
  task "unchanged" {
    shell { cmd = "echo t3" }
    changed_when = false
    notify = ["first", "second"]
  }
  task "t4" {
    shell { cmd = "echo t4" }
    when = host.name == "n1"
    notify = ["second"]
  }
  handler "first" {
    shell { cmd = "echo first" }
  }
  handler "second" {
    shell { cmd = "echo second" }
  }
  handler "not notified" {
    shell { cmd = "echo not-notified" }
  }
`)})
	rg.mustRun()
	if got := strings.Join(rg.sink.taskStarts(), ","); got != "t1,t2,unchanged,t4,first,second" {
		t.Errorf("order: %s", got)
	}
	if got := hostsOf(rg.sink.results("first")); got != "n1,n2" {
		t.Errorf("handler first ran on %s, want n1,n2", got)
	}
	if got := hostsOf(rg.sink.results("second")); got != "n1" {
		t.Errorf("handler second ran on %s, want n1", got)
	}
	if n := len(rg.sink.resultList("second")); n != 1 {
		t.Errorf("handler second ran %d times on n1, want once though notified twice", n)
	}
	for _, e := range rg.sink.all() {
		if ts, ok := e.(output.TaskStart); ok && ts.Handler != (ts.Name == "first" || ts.Name == "second") {
			t.Errorf("TaskStart %q has Handler = %v", ts.Name, ts.Handler)
		}
	}
	if _, err := os.Stat(filepath.Join(rg.dir, "state", "pending-handlers", "n1.json")); !os.IsNotExist(err) {
		t.Errorf("pending handlers left after they ran: %v", err)
	}
}

// A handler notified in a run that failed before handlers ran is remembered in the state
// directory and run by the next run, even though nothing notifies it then.
func TestPendingHandlersReplayedOnNextRun(t *testing.T) {
	rg := newRig(t, map[string]string{"hosts.hcl": `host "n1" {}
host "n2" {}`, "site.hcl": play(`
  task "change config" {
    shell { cmd = "echo changed" }
    when = var.phase == "one"
    notify = ["restart"]
  }
  task "then fail" {
    shell { cmd = var.phase == "one" && host.name == "n1" ? "fail 1" : "true" }
  }
  handler "restart" {
    shell { cmd = "echo restart" }
  }
`)})
	pending := filepath.Join(rg.dir, "state", "pending-handlers", "n1.json")

	rg.extra = map[string]string{"phase": "one"}
	rg.mustRun()
	if got := hostsOf(rg.sink.results("restart")); got != "n2" {
		t.Fatalf("first run: restart ran on %q, want n2 only", got)
	}
	b, err := os.ReadFile(pending)
	if err != nil || !strings.Contains(string(b), "restart") {
		t.Fatalf("pending handlers of n1 after the failed run: %q, %v", b, err)
	}
	if _, err := os.Stat(filepath.Join(rg.dir, "state", "pending-handlers", "n2.json")); !os.IsNotExist(err) {
		t.Errorf("n2 ran its handler but its pending file remains: %v", err)
	}

	rg.extra = map[string]string{"phase": "two"}
	rg.mustRun()
	if got := hostsOf(rg.sink.results("restart")); got != "n1" {
		t.Errorf("second run: restart ran on %q, want n1 (replayed)", got)
	}
	if !slices.ContainsFunc(rg.sink.warnings(), func(w string) bool { return strings.Contains(w, "earlier run") }) {
		t.Errorf("no warning about the replayed handler: %q", rg.sink.warnings())
	}
	if _, err := os.Stat(pending); !os.IsNotExist(err) {
		t.Errorf("pending file still there after the handler ran: %v", err)
	}

	rg.mustRun()
	if got := hostsOf(rg.sink.results("restart")); got != "" {
		t.Errorf("third run: restart ran again on %q", got)
	}
}

func TestCheckMode(t *testing.T) {
	rg := newRig(t, map[string]string{"hosts.hcl": `host "n1" {}`, "site.hcl": play(`
  task "restart" {
    command { argv = ["systemctl", "restart", "etcd"] }
    register = "r"
  }
  task "after restart" {
    debug { msg = "rc was zero" }
    when = registered.r.rc == 0
  }
  task "config" {
    copy {
      content = "listen: 2379\n"
      dest    = "/etc/app.conf"
    }
  }
  task "existing" {
    copy {
      content = "new\n"
      dest    = "/etc/old.conf"
    }
  }
`)})
	n1 := rg.fleet.Host("n1")
	n1.SetFile("/etc/old.conf", []byte("old\n"), 0o644)
	rg.opts.Check, rg.opts.Diff = true, true
	res := rg.mustRun()

	r := rg.sink.results("restart")["n1"]
	if r.Status != output.StatusSkipped || !strings.Contains(r.Msg, "would run") {
		t.Errorf("command in check mode: %+v", r)
	}
	dep := rg.sink.results("debug")["n1"] // see TestDebugResultKeepsTaskName
	if dep.Status != output.StatusSkipped {
		t.Errorf("a when on an unknown registered value: %s (%s), want skipped", dep.Status, dep.Msg)
	}
	cfg := rg.sink.results("config")["n1"]
	if cfg.Status != output.StatusChanged || len(cfg.Diffs) != 1 || cfg.Diffs[0].After != "listen: 2379\n" {
		t.Errorf("copy in check mode: %+v", cfg)
	}
	old := rg.sink.results("existing")["n1"]
	if len(old.Diffs) != 1 || old.Diffs[0].Before != "old\n" || old.Diffs[0].After != "new\n" {
		t.Errorf("diff of an existing file: %+v", old.Diffs)
	}
	for _, c := range n1.Calls() {
		if c.Op == conntest.OpWriteFile || strings.Contains(c.Command, "systemctl") {
			t.Errorf("check mode did %s %s%s", c.Op, c.Path, c.Command)
		}
	}
	if _, ok := n1.File("/etc/app.conf"); ok {
		t.Error("check mode created /etc/app.conf")
	}
	if f, _ := n1.File("/etc/old.conf"); string(f.Data) != "old\n" {
		t.Errorf("check mode changed /etc/old.conf to %q", f.Data)
	}
	if res.Failed() || res.Recap.Transferred != 0 {
		t.Errorf("failed %v, uploaded %d bytes", res.Failed(), res.Recap.Transferred)
	}
}

func TestCopyWritesThenIsIdempotent(t *testing.T) {
	rg := newRig(t, map[string]string{"hosts.hcl": `host "n1" {}`, "site.hcl": play(`
  task "config" {
    copy {
      content = "a = 1\n"
      dest    = "/etc/app.conf"
      mode    = "0600"
    }
  }
  task "no dir" {
    copy {
      content = "x"
      dest    = "/opt/missing/x"
    }
  }
`)})
	res := rg.mustRun()
	f, ok := rg.fleet.Host("n1").File("/etc/app.conf")
	if !ok || string(f.Data) != "a = 1\n" || f.Mode != 0o600 {
		t.Fatalf("file after copy: %q %o %v", f.Data, f.Mode, ok)
	}
	if rg.sink.results("config")["n1"].Status != output.StatusChanged || res.Recap.Transferred != 6 {
		t.Errorf("first copy: %s, %d bytes", rg.sink.results("config")["n1"].Status, res.Recap.Transferred)
	}
	if nd := rg.sink.results("no dir")["n1"]; nd.Status != output.StatusFailed || !strings.Contains(nd.Msg, "does not exist") {
		t.Errorf("copy into a missing directory: %+v", nd)
	}
	res = rg.mustRun()
	if got := rg.sink.results("config")["n1"].Status; got != output.StatusOK || res.Recap.Transferred != 0 {
		t.Errorf("second copy: %s, %d bytes uploaded, want ok and nothing sent", got, res.Recap.Transferred)
	}
}

func TestLimit(t *testing.T) {
	rg := newRig(t, map[string]string{"hosts.hcl": threeHosts, "site.hcl": play(`
  task "one" {
    shell { cmd = "echo one" }
  }
`)})
	rg.opts.Limit = "nodes:!n2"
	res := rg.mustRun()
	if got := hostsOf(rg.sink.results("one")); got != "n1,n3" {
		t.Errorf("--limit nodes:!n2 ran on %s", got)
	}
	if _, seen := res.Recap.Counts["n2"]; seen || rg.fleet.Dials("n2") != 0 {
		t.Error("a host outside --limit was touched or counted")
	}

	rg.opts.Limit = "n4"
	if _, err := rg.run(); err == nil || !strings.Contains(err.Error(), `did you mean "n1"`) {
		t.Errorf("--limit with an unknown host: err = %v", err)
	}

	rg.opts.Limit = "n1"
	rg.mustRun()
	if got := hostsOf(rg.sink.results("one")); got != "n1" {
		t.Errorf("--limit n1 ran on %s", got)
	}
}

// The fork limit bounds how many hosts work at once. Each command waits until as many
// commands as the limit allows are in flight (or no host is left to start), so a runner
// that ignored the limit shows more than the limit, and one that worked a host at a time
// never releases its first command (the test then hangs until go test's -timeout).
func TestForksBoundConcurrency(t *testing.T) {
	const hosts, forks = 7, 3
	inv := ""
	for i := 1; i <= hosts; i++ {
		inv += "host \"h" + string(rune('0'+i)) + "\" {}\n"
	}
	rg := newRig(t, map[string]string{"hosts.hcl": inv, "site.hcl": play(`
  task "hold" {
    shell { cmd = "hold" }
  }
`)})
	var mu sync.Mutex
	cond := sync.NewCond(&mu)
	started := 0
	for i := 1; i <= hosts; i++ {
		rg.fleet.Host("h" + string(rune('0'+i))).Handle(func(context.Context, *conntest.Host, conntest.Command) (connection.Result, error) {
			mu.Lock()
			defer mu.Unlock()
			started++
			cond.Broadcast()
			for rg.fleet.InFlight() < forks && started < hosts {
				cond.Wait()
			}
			return connection.Result{}, nil
		})
	}
	rg.opts.Forks = forks
	rg.mustRun()
	if got := rg.fleet.MaxInFlight(); got != forks {
		t.Errorf("max commands in flight = %d, want %d", got, forks)
	}
	if n := len(rg.sink.results("hold")); n != hosts {
		t.Errorf("%d hosts reported, want %d", n, hosts)
	}
}

func TestTagsCheckSuggests(t *testing.T) {
	rg := newRig(t, map[string]string{"hosts.hcl": `host "n1" {}`, "site.hcl": play(`
  task "x" {
    shell { cmd = "true" }
    tags = ["pki"]
  }
`)})
	pb := loadPlaybook(t, rg)
	if err := (runner.Tags{Only: []string{"pki"}}).Check(pb); err != nil {
		t.Errorf("known tag: %v", err)
	}
	err := (runner.Tags{Skip: []string{"pkj"}}).Check(pb)
	if err == nil || !strings.Contains(err.Error(), `did you mean "pki"`) {
		t.Errorf("unknown tag: %v", err)
	}
}

// A debug task's result names the task like any other, so JSON consumers can tell two
// debug tasks apart.
func TestDebugResultKeepsTaskName(t *testing.T) {
	rg := newRig(t, map[string]string{"hosts.hcl": `host "n1" {}`, "site.hcl": play(`
  task "show version" {
    debug { msg = "1.24.6" }
  }
`)})
	rg.mustRun()
	if _, ok := rg.sink.results("show version")["n1"]; !ok {
		t.Fatalf("the result of debug task %q is reported with Task = %q "+
			"(runner/task.go hostResult renames it)", "show version", rg.sink.resultList("debug")[0].Task)
	}
}

// A host that cannot be dialled is unreachable, not failed, even when no fact gathering
// found it first, and it takes no part in later tasks.
func TestUnreachableWithoutFacts(t *testing.T) {
	rg := newRig(t, map[string]string{"hosts.hcl": threeHosts, "site.hcl": `
play "p" {
  hosts        = "all"
  gather_facts = false
  task "one" {
    shell { cmd = "echo one" }
  }
  task "two" {
    shell { cmd = "echo two" }
  }
}
`})
	rg.fleet.RefuseDial("n2", errors.New("connection refused"))
	res := rg.mustRun()
	if got := rg.sink.results("one")["n2"].Status; got != output.StatusUnreachable {
		t.Errorf("n2 on task one: %s, want unreachable", got)
	}
	if _, ran := rg.sink.results("two")["n2"]; ran {
		t.Error("the unreachable n2 was tried again on task two")
	}
	if !res.Unreachable() || res.Failed() {
		t.Errorf("recap: unreachable %v, failed %v; want unreachable only", res.Unreachable(), res.Failed())
	}
}

// A delegated task runs on the delegate's connection, with the delegating host's variables,
// and its result names both.
func TestDelegateTo(t *testing.T) {
	rg := newRig(t, map[string]string{"hosts.hcl": threeHosts, "site.hcl": `
play "p" {
  hosts        = "n1,n2"
  gather_facts = false
  task "on n3" {
    shell { cmd = "echo from ${host.name}" }
    delegate_to = "n3"
  }
}
`})
	rg.mustRun()
	res := rg.sink.results("on n3")
	for _, h := range []string{"n1", "n2"} {
		if res[h].Delegate != "n3" {
			t.Errorf("%s: delegate %q, want n3", h, res[h].Delegate)
		}
	}
	cmds := strings.Join(rg.fleet.Host("n3").Commands(), "\n")
	if !strings.Contains(cmds, "echo from n1") || !strings.Contains(cmds, "echo from n2") {
		t.Errorf("n3 did not run both hosts' commands: %q", cmds)
	}
	for _, h := range []string{"n1", "n2"} {
		if c := rg.fleet.Host(h).Commands(); len(c) != 0 {
			t.Errorf("%s ran commands of a delegated task: %q", h, c)
		}
	}
}

// An interrupted run says which host was in the middle of which task.
func TestInterruptNamesTaskInFlight(t *testing.T) {
	rg := newRig(t, map[string]string{"hosts.hcl": threeHosts, "site.hcl": `
play "p" {
  hosts        = "n1"
  gather_facts = false
  task "wait" {
    shell { cmd = "block" }
  }
  task "after" {
    shell { cmd = "echo never" }
  }
}
`})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rg.ctx = ctx
	started := make(chan struct{})
	rg.fleet.Host("n1").Handle(func(ctx context.Context, h *conntest.Host, c conntest.Command) (connection.Result, error) {
		if c.Line != "block" {
			return emulate(ctx, h, c)
		}
		close(started)
		<-ctx.Done()
		return connection.Result{}, ctx.Err()
	})
	go func() {
		<-started
		cancel()
	}()
	res := rg.mustRun()
	if !res.Recap.Interrupted || res.Recap.InFlight["n1"] != "wait" {
		t.Errorf("recap: interrupted %v, in flight %v; want n1 in task wait", res.Recap.Interrupted, res.Recap.InFlight)
	}
	if _, ran := rg.sink.results("after")["n1"]; ran {
		t.Error("a task after the interruption ran")
	}
	// Cut short is not failed: scripts counting failures must not count a Ctrl-C.
	if w := rg.sink.results("wait")["n1"]; w.Status != output.StatusInterrupted {
		t.Errorf("the task cut short reports %q, want interrupted", w.Status)
	}
	if c := res.Recap.Counts["n1"]; c.Failed != 0 || c.Unreachable != 0 {
		t.Errorf("an interrupted task counted as %+v", c)
	}
}

// A task that finished before Ctrl-C keeps its outcome, and the recap does not say the
// host was in the middle of it.
func TestInterruptAfterATaskFinished(t *testing.T) {
	rg := newRig(t, map[string]string{"hosts.hcl": threeHosts, "site.hcl": `
play "p" {
  hosts        = "n1"
  gather_facts = false
  task "quick" {
    shell { cmd = "finish then cancel" }
  }
  task "after" {
    shell { cmd = "echo never" }
  }
}
`})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rg.ctx = ctx
	rg.fleet.Host("n1").Handle(func(ctx context.Context, h *conntest.Host, c conntest.Command) (connection.Result, error) {
		if c.Line == "finish then cancel" {
			cancel()
			return connection.Result{Stdout: []byte("done\n")}, nil
		}
		return emulate(ctx, h, c)
	})
	res := rg.mustRun()
	if q := rg.sink.results("quick")["n1"]; q.Status != output.StatusChanged {
		t.Errorf("the finished task reports %q", q.Status)
	}
	if !res.Recap.Interrupted || len(res.Recap.InFlight) != 0 {
		t.Errorf("recap: interrupted %v, in flight %v; want interrupted with nothing in flight", res.Recap.Interrupted, res.Recap.InFlight)
	}
}

// A path computed at run time is checked too: a relative one would land in the login
// directory on a node.
func TestRelativePathRefusedAtRunTime(t *testing.T) {
	rg := newRig(t, map[string]string{"hosts.hcl": `host "n1" {}
vars = { dir = "etc" }`, "site.hcl": `
play "p" {
  hosts        = "n1"
  gather_facts = false
  task "write" {
    copy {
      content = "x"
      dest    = "${var.dir}/motd"
    }
  }
}
`})
	rg.mustRun()
	r := rg.sink.results("write")["n1"]
	if r.Status != output.StatusFailed || !strings.Contains(r.Msg, "absolute path") {
		t.Errorf("relative dest: %s %q, want failed naming the absolute path rule", r.Status, r.Msg)
	}
	for _, c := range rg.fleet.Host("n1").Calls() {
		if c.Op != conntest.OpClose {
			t.Errorf("the host was asked to do something: %+v", c)
		}
	}
}

// A task's environment is exported to its command, quoted, and checked for names a shell
// cannot export.
func TestEnvironment(t *testing.T) {
	rg := newRig(t, map[string]string{"hosts.hcl": `host "n1" {}`, "site.hcl": `
play "p" {
  hosts        = "n1"
  gather_facts = false
  task "bad name" {
    shell { cmd = "echo no" }
    environment   = { "A-B" = "1" }
    ignore_errors = true
  }
  # The test double answers no export lines: only the command sent matters here.
  task "with env" {
    shell { cmd = "echo hi" }
    environment   = { HTTP_PROXY = "http://proxy:3128", QUOTED = "a'b $(x)" }
    ignore_errors = true
  }
}
`})
	rg.mustRun()
	cmds := strings.Join(rg.fleet.Host("n1").Commands(), "\n")
	want := `export HTTP_PROXY=http://proxy:3128; export QUOTED='a'\''b $(x)'; echo hi`
	if !strings.Contains(cmds, want) || strings.Contains(cmds, "echo no") {
		t.Errorf("commands %q lack %q", cmds, want)
	}
	if r := rg.sink.results("bad name")["n1"]; r.Status != output.StatusIgnored || !strings.Contains(r.Msg, "not a valid environment variable name") {
		t.Errorf("bad name: %s %q", r.Status, r.Msg)
	}
}

// A task that fails before its module runs (a condition that cannot be evaluated) takes
// the host out of the play like any other failure.
func TestEarlyFailureLeavesPlay(t *testing.T) {
	rg := newRig(t, map[string]string{"hosts.hcl": `host "n1" {}`, "site.hcl": `
play "p" {
  hosts        = "n1"
  gather_facts = false
  task "bad condition" {
    shell { cmd = "echo one" }
    when = tonumber("x") > 1
  }
  task "after" {
    shell { cmd = "echo after" }
  }
}
`})
	res := rg.mustRun()
	if r := rg.sink.results("bad condition")["n1"]; r.Status != output.StatusFailed {
		t.Errorf("bad condition: %s", r.Status)
	}
	if _, ran := rg.sink.results("after")["n1"]; ran {
		t.Error("the failed host ran the next task")
	}
	if !res.Failed() {
		t.Error("the run does not report a failed host")
	}
}

// --start-at-task skips what comes before the named task, across plays, and refuses a
// name no task has.
func TestStartAtTask(t *testing.T) {
	rg := newRig(t, map[string]string{"hosts.hcl": threeHosts, "site.hcl": `
play "one" {
  hosts        = "n1"
  gather_facts = false
  task "a" {
    shell { cmd = "echo a" }
  }
}
play "two" {
  hosts        = "n1"
  gather_facts = false
  task "b" {
    shell { cmd = "echo b" }
  }
  task "c" {
    shell { cmd = "echo c" }
  }
}
`})
	rg.opts.StartAt = "b"
	rg.mustRun()
	if got := strings.Join(rg.fleet.Host("n1").Commands(), ","); got != "echo b,echo c" {
		t.Errorf("commands %q, want echo b,echo c", got)
	}
	rg.opts.StartAt = "bb"
	if _, err := rg.run(); err == nil || !strings.Contains(err.Error(), `did you mean "b"`) {
		t.Errorf("unknown --start-at-task: %v", err)
	}
}

// serial runs the whole play, handlers included, batch after batch; max_fail_percentage
// stops the play once a batch has failed beyond it.
func TestSerialBatches(t *testing.T) {
	hosts := `host "n1" {}
host "n2" {}
host "n3" {}
host "n4" {}
host "n5" {}
`
	rg := newRig(t, map[string]string{"hosts.hcl": hosts, "site.hcl": `
play "rolling" {
  hosts        = "all"
  serial       = [1, "50%"]
  gather_facts = false
  task "first" {
    shell { cmd = "echo first ${host.name}" }
    notify = ["h"]
  }
  task "second" {
    shell { cmd = "echo second ${host.name}" }
  }
  handler "h" {
    shell { cmd = "echo handler ${host.name}" }
  }
}
`})
	rg.mustRun()
	var order []string
	for _, c := range rg.fleet.Calls() {
		if c.Op == conntest.OpRun && strings.HasPrefix(c.Command, "echo ") {
			f := strings.Fields(c.Command)
			order = append(order, f[1]+":"+f[2])
		}
	}
	// Batches: [n1], then 50% of 5 = 2: [n2 n3], [n4 n5]. Within a batch the order of
	// hosts is free; between batches it is not.
	batchOf := map[string]int{"n1": 0, "n2": 1, "n3": 1, "n4": 2, "n5": 2}
	stepOf := map[string]int{"first": 0, "second": 1, "handler": 2}
	last := -1
	for _, o := range order {
		step, host, _ := strings.Cut(o, ":")
		pos := batchOf[host]*3 + stepOf[step]
		if pos < last {
			t.Fatalf("out of batch order: %v", order)
		}
		last = pos
	}
	if len(order) != 15 {
		t.Errorf("ran %d commands, want 15: %v", len(order), order)
	}

	rg = newRig(t, map[string]string{"hosts.hcl": hosts, "site.hcl": `
play "careful" {
  hosts               = "all"
  serial              = 2
  max_fail_percentage = 40
  gather_facts        = false
  task "maybe fail" {
    shell { cmd = host.name == "n2" ? "fail 1" : "echo ok" }
  }
}
`})
	rg.mustRun()
	ran := hostsOf(rg.sink.results("maybe fail"))
	if ran != "n1,n2" {
		t.Errorf("after 1 of 2 hosts failed (50%% > 40%%) the play ran on %s, want n1,n2 only", ran)
	}
}

// block/rescue/always: a failure in the block moves that host to rescue and is counted as
// rescued; always runs everywhere; a host whose rescue fails stays failed; the block's
// condition and tags apply to all its tasks.
func TestBlockRescueAlways(t *testing.T) {
	rg := newRig(t, map[string]string{"hosts.hcl": threeHosts, "site.hcl": `
play "p" {
  hosts        = "all"
  gather_facts = false
  block "guarded" {
    when = host.name != "n3"
    tags = ["guard"]
    task "try" {
      shell { cmd = host.name == "n2" ? "fail 1" : "echo try" }
    }
    task "after try" {
      shell { cmd = "echo after" }
    }
    rescue {
      task "recover" {
        shell { cmd = "echo recover" }
      }
    }
    always {
      task "cleanup" {
        shell { cmd = "echo cleanup" }
      }
    }
  }
  task "later" {
    shell { cmd = "echo later" }
  }
}
`})
	res := rg.mustRun()
	for task, want := range map[string]string{
		"try": "n1,n2", "after try": "n1", "recover": "n2", "cleanup": "n1,n2", "later": "n1,n2,n3",
	} {
		if got := hostsOf(rg.sink.results(task)); got != want {
			t.Errorf("%s ran on %s, want %s", task, got, want)
		}
	}
	if c := res.Recap.Counts["n2"]; c.Failed != 0 || c.Rescued != 1 {
		t.Errorf("n2 counts %+v, want failed=0 rescued=1", c)
	}
	if res.Failed() {
		t.Error("a rescued run reports a failed host")
	}

	rg = newRig(t, map[string]string{"hosts.hcl": threeHosts, "site.hcl": `
play "p" {
  hosts        = "n1"
  gather_facts = false
  block "no rescue possible" {
    task "try" {
      shell { cmd = "fail 1" }
    }
    rescue {
      task "recover" {
        shell { cmd = "fail 2" }
      }
    }
    always {
      task "cleanup" {
        shell { cmd = "echo cleanup" }
      }
    }
  }
  task "later" {
    shell { cmd = "echo later" }
  }
}
`})
	res = rg.mustRun()
	if got := hostsOf(rg.sink.results("cleanup")); got != "n1" {
		t.Errorf("always did not run on the failed host: %q", got)
	}
	if _, ran := rg.sink.results("later")["n1"]; ran || !res.Failed() {
		t.Errorf("a host whose rescue failed went on (later ran: %v, failed: %v)", ran, res.Failed())
	}
}

// A block's tags belong to every task in it, rescue and always included.
func TestBlockTags(t *testing.T) {
	rg := newRig(t, map[string]string{"hosts.hcl": threeHosts, "site.hcl": `
play "p" {
  hosts        = "n1"
  gather_facts = false
  block "b" {
    tags = ["guard"]
    task "in" {
      shell { cmd = "echo in" }
    }
    always {
      task "always in" {
        shell { cmd = "echo always" }
      }
    }
  }
  task "out" {
    shell { cmd = "echo out" }
  }
}
`})
	rg.opts.Tags = runner.Tags{Only: []string{"guard"}}
	rg.mustRun()
	if got := strings.Join(rg.fleet.Host("n1").Commands(), ","); got != "echo in,echo always" {
		t.Errorf("--tags guard ran %q", got)
	}
}

// In check mode a copy whose source an earlier task would have made predicts a change
// instead of failing; outside check mode the missing source is an error.
func TestCheckModeCopyOfMissingSource(t *testing.T) {
	files := map[string]string{"hosts.hcl": `host "n1" {}`, "site.hcl": `
play "p" {
  hosts        = "n1"
  gather_facts = false
  task "binary" {
    copy {
      src  = "/nonexistent/kplay-stage/etcd"
      dest = "/etc/etcd-binary"
    }
  }
}
`}
	rg := newRig(t, files)
	rg.opts.Check = true
	rg.mustRun()
	if r := rg.sink.results("binary")["n1"]; r.Status != output.StatusChanged {
		t.Errorf("check mode: %s %q, want changed", r.Status, r.Msg)
	}
	rg = newRig(t, files)
	rg.mustRun()
	if r := rg.sink.results("binary")["n1"]; r.Status != output.StatusFailed {
		t.Errorf("real run: %s, want failed", r.Status)
	}
}

// Cached facts of hosts a --limit keeps out are still visible through hosts[...].facts.
func TestCachedFactsOfOtherHosts(t *testing.T) {
	rg := newRig(t, map[string]string{"hosts.hcl": threeHosts, "site.hcl": `
play "p" {
  hosts = "all"
  task "peer" {
    debug { msg = hosts["n1"].facts.hostname }
  }
}
`})
	rg.mustRun()
	rg.opts.Limit = "n2"
	rg.mustRun()
	r := rg.sink.results("peer")["n2"]
	if r.Status != output.StatusOK || r.Msg != "n1" {
		t.Errorf("n2 sees n1's facts as %s %q, want ok \"n1\"", r.Status, r.Msg)
	}
	if rg.fleet.Dials("n1") != 1 {
		t.Errorf("n1 was dialled %d times; the limited run must not touch it", rg.fleet.Dials("n1"))
	}
}

// any_errors_fatal ends the whole run at the first failure, not only its play.
func TestAnyErrorsFatalStopsTheRun(t *testing.T) {
	rg := newRig(t, map[string]string{"hosts.hcl": threeHosts, "site.hcl": `
play "first" {
  hosts            = "n1"
  gather_facts     = false
  any_errors_fatal = true
  task "breaks" {
    shell { cmd = "fail 1" }
  }
}
play "second" {
  hosts        = "n2"
  gather_facts = false
  task "never" {
    shell { cmd = "echo second" }
  }
}
`})
	rg.mustRun()
	if _, ran := rg.sink.results("never")["n2"]; ran {
		t.Error("a play after an any_errors_fatal failure ran")
	}
}

// A block whose condition holds on no host is skipped, run_once tasks in it included.
func TestBlockFalseEverywhere(t *testing.T) {
	rg := newRig(t, map[string]string{"hosts.hcl": threeHosts, "site.hcl": `
play "p" {
  hosts        = "all"
  gather_facts = false
  block "off" {
    when = false
    task "once" {
      shell { cmd = "echo once" }
      run_once = true
    }
  }
  task "after" {
    shell { cmd = "echo after" }
  }
}
`})
	rg.mustRun()
	if got := hostsOf(rg.sink.results("once")); got != "" {
		t.Errorf("the block ran on %s", got)
	}
	if got := hostsOf(rg.sink.results("after")); got != "n1,n2,n3" {
		t.Errorf("after ran on %s", got)
	}
}

// In check mode a copy into a directory an earlier task would have made predicts a change;
// a real run still fails on a missing directory.
func TestCheckModeCopyIntoMissingDirectory(t *testing.T) {
	files := map[string]string{"hosts.hcl": `host "n1" {}`, "site.hcl": `
play "p" {
  hosts        = "n1"
  gather_facts = false
  task "into new dir" {
    copy {
      content = "x"
      dest    = "/opt/new/file"
    }
  }
}
`}
	rg := newRig(t, files)
	rg.opts.Check = true
	rg.mustRun()
	if r := rg.sink.results("into new dir")["n1"]; r.Status != output.StatusChanged {
		t.Errorf("check mode: %s %q, want changed", r.Status, r.Msg)
	}
	rg = newRig(t, files)
	rg.mustRun()
	if r := rg.sink.results("into new dir")["n1"]; r.Status != output.StatusFailed {
		t.Errorf("real run: %s, want failed", r.Status)
	}
}

// refresh_facts gathers the host's facts again after the task changed something, so the
// next task sees the change; without a change nothing is gathered.
func TestRefreshFacts(t *testing.T) {
	rg := newRig(t, map[string]string{"hosts.hcl": `host "n1" {}`, "site.hcl": `
play "p" {
  hosts = "n1"
  task "rename" {
    shell { cmd = "echo rename" }
    refresh_facts = true
  }
  task "no change" {
    shell { cmd = "echo same" }
    changed_when  = false
    refresh_facts = true
  }
}
`})
	rg.mustRun()
	gathers := 0
	for _, c := range rg.fleet.Host("n1").Calls() {
		if c.Op == conntest.OpRun && c.Command == "sh -s" {
			gathers++
		}
	}
	if gathers != 2 {
		t.Errorf("facts gathered %d times, want 2: at the start and after the change", gathers)
	}
}

// Loop items run side by side on a host and are reported and registered in item order;
// serial_items runs them one after the other.
func TestLoopItemsConcurrency(t *testing.T) {
	for _, serial := range []bool{false, true} {
		rg := newRig(t, map[string]string{"hosts.hcl": `host "n1" {}`, "site.hcl": fmt.Sprintf(`
play "p" {
  hosts        = "n1"
  gather_facts = false
  task "loop" {
    for_each     = ["a", "b", "c", "d", "e", "f"]
    shell { cmd = "block ${each.value}" }
    serial_items = %v
    register     = "r"
  }
  task "order" {
    debug { msg = join(",", [for x in registered.r.results : x.stdout]) }
  }
}
`, serial)})
		var mu sync.Mutex
		inFlight, peak := 0, 0
		rg.fleet.Host("n1").Handle(func(ctx context.Context, h *conntest.Host, c conntest.Command) (connection.Result, error) {
			if !strings.HasPrefix(c.Line, "block ") {
				return emulate(ctx, h, c)
			}
			mu.Lock()
			inFlight++
			peak = max(peak, inFlight)
			mu.Unlock()
			time.Sleep(20 * time.Millisecond) // long enough for the next item to start
			mu.Lock()
			inFlight--
			mu.Unlock()
			return connection.Result{Stdout: []byte(strings.TrimPrefix(c.Line, "block "))}, nil
		})
		rg.mustRun()
		if serial && peak != 1 || !serial && peak < 2 {
			t.Errorf("serial_items=%v: %d items ran at once", serial, peak)
		}
		if got := rg.sink.results("debug")["n1"].Msg; got != "a,b,c,d,e,f" {
			t.Errorf("serial_items=%v: registered results in order %q", serial, got)
		}
	}
}
