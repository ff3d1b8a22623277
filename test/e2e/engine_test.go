package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// fiveHosts is an inventory of the lab's five hosts for engine tests that need no cluster.
// Its state directory is its own: these runs share nothing with the site's.
func fiveHosts(t *testing.T, extra string) *site {
	t.Helper()
	dir := t.TempDir()
	var b strings.Builder
	fmt.Fprintf(&b, "state_dir = %q\n\n", filepath.Join(dir, "state"))
	fmt.Fprintf(&b, "defaults {\n  user        = \"root\"\n  key_files   = [%q]\n  known_hosts = %q\n}\n\n",
		filepath.Join(labDir, "keys/id_ed25519"), filepath.Join(labDir, "known_hosts"))
	for i := 1; i <= 5; i++ {
		fmt.Fprintf(&b, "host \"n%d\" {\n  address = \"10.77.0.%d\"\n}\n\n", i, 10+i)
	}
	b.WriteString("group \"five\" {\n  hosts = [\"n1\", \"n2\", \"n3\", \"n4\", \"n5\"]\n}\n")
	b.WriteString(extra)
	s := &site{t: t, dir: dir, inv: filepath.Join(dir, "hosts.hcl")}
	if err := os.WriteFile(s.inv, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return s
}

// The order of events docs/guide.md promises, on five real hosts: serial batches of 1, then
// 50%, each running the whole play with its handlers before the next; every task done on a
// batch before the next task; until/retries counted per host; block, rescue and always;
// delegate_to running on the delegate with the delegating host's variables.
func TestEngineOrderOfEvents(t *testing.T) {
	requireLab(t)
	s := fiveHosts(t, "")
	clean := func() {
		for i := 1; i <= 5; i++ {
			labCmd("lab/lab.sh", "exec", fmt.Sprintf("n%d", i), "rm -f /tmp/kplay-e2e-*")
		}
	}
	clean()
	t.Cleanup(clean)
	playbook := s.playbookFile(t, `
play "rolling" {
  hosts        = "five"
  serial       = [1, "50%"]
  gather_facts = false

  task "count attempts" {
    shell {
      cmd = "n=$(cat /tmp/kplay-e2e-attempts 2>/dev/null || echo 0); n=$((n+1)); echo $n > /tmp/kplay-e2e-attempts; echo $n"
    }
    register = "attempt"
    until    = trimspace(registered.attempt.stdout) == "3"
    retries  = 5
    delay    = "0s"
  }

  block "guarded" {
    task "try" {
      shell { cmd = contains(["n2", "n4"], host.name) ? "exit 1" : "echo tried" }
    }
    task "after try" {
      shell { cmd = "echo after" }
    }
    rescue {
      task "recover" {
        shell { cmd = "echo recovered" }
      }
    }
    always {
      task "cleanup" {
        shell { cmd = "echo cleanup" }
      }
    }
  }

  task "report to n1" {
    shell { cmd = "echo ${host.name} >> /tmp/kplay-e2e-delegated; echo reported" }
    delegate_to = "n1"
    notify      = ["batch done"]
  }

  handler "batch done" {
    shell { cmd = "echo handled" }
  }
}
`)
	r := s.runPlaybook(playbook)
	if r.code != 0 {
		t.Fatalf("want exit 0 (every failure rescued):\n%s", r.dump())
	}

	// Batches: [n1], then 50% of 5 = 2: [n2 n3], [n4 n5]. Every result of a batch comes
	// before any of the next one's, and within a batch the tasks (handler last) are in order.
	batchOf := map[string]int{"n1": 0, "n2": 1, "n3": 1, "n4": 2, "n5": 2}
	steps := []string{"count attempts", "try", "after try", "recover", "cleanup", "report to n1", "batch done"}
	stepOf := map[string]int{}
	for i, st := range steps {
		stepOf[st] = i
	}
	last := -1
	var seen []string
	for _, hr := range r.results {
		step, ok := stepOf[hr.Task]
		if !ok {
			t.Fatalf("unexpected result %+v", hr)
		}
		pos := batchOf[hr.Host]*len(steps) + step
		seen = append(seen, hr.Host+":"+hr.Task)
		if pos < last {
			t.Fatalf("event out of the documented order at %s:%s; events so far:\n%s",
				hr.Host, hr.Task, strings.Join(seen, "\n"))
		}
		last = pos
	}

	ranOn := func(task, status string) string {
		var hosts []string
		for _, hr := range r.results {
			if hr.Task == task && (status == "" || hr.Status == status) {
				hosts = append(hosts, hr.Host)
			}
		}
		sort.Strings(hosts)
		return strings.Join(hosts, ",")
	}
	for task, want := range map[string]string{
		"try": "n1,n2,n3,n4,n5", "after try": "n1,n3,n5", "recover": "n2,n4",
		"cleanup": "n1,n2,n3,n4,n5", "report to n1": "n1,n2,n3,n4,n5", "batch done": "n1,n2,n3,n4,n5",
	} {
		if got := ranOn(task, ""); got != want {
			t.Errorf("%s ran on %s, want %s", task, got, want)
		}
	}
	if got := ranOn("try", "failed"); got != "n2,n4" {
		t.Errorf("try failed on %s, want n2,n4", got)
	}
	for _, h := range []string{"n2", "n4"} {
		if c := r.recap.Counts[h]; c.Failed != 0 {
			t.Errorf("%s: rescued but counted failed: %+v", h, c)
		}
	}

	// until: three attempts on each host, counted by the host's own file.
	attempts := map[string]int{}
	for _, ev := range r.results {
		if ev.Task == "count attempts" {
			attempts[ev.Host] = ev.Attempts
		}
	}
	for i := 1; i <= 5; i++ {
		n := fmt.Sprintf("n%d", i)
		if got := on(t, n, "cat /tmp/kplay-e2e-attempts"); got != "3" || attempts[n] != 3 {
			t.Errorf("%s: the file counted %s attempts and the result says %d, want 3", n, got, attempts[n])
		}
	}

	// delegate_to: every host's line is on n1, in batch order, and nowhere else.
	lines := strings.Fields(on(t, "n1", "cat /tmp/kplay-e2e-delegated"))
	if len(lines) != 5 || lines[0] != "n1" || batchOf[lines[1]] != 1 || batchOf[lines[2]] != 1 ||
		batchOf[lines[3]] != 2 || batchOf[lines[4]] != 2 {
		t.Errorf("delegated lines on n1: %q, want n1 first, then n2/n3, then n4/n5", lines)
	}
	for i := 2; i <= 5; i++ {
		n := fmt.Sprintf("n%d", i)
		if out := on(t, n, "ls /tmp/kplay-e2e-delegated 2>/dev/null || true"); out != "" {
			t.Errorf("%s ran a task delegated to n1", n)
		}
	}
	for _, ev := range r.results {
		if ev.Task == "report to n1" && ev.Delegate != "n1" {
			t.Errorf("%s's delegated result names delegate %q", ev.Host, ev.Delegate)
		}
	}
}

// A run that fails on a host after a config change must not lose the restart: the
// notification is kept in the state directory and the next run restarts the service there,
// even though the config no longer changes. A real systemd service on n4 and n5.
func TestEngineFailedRunKeepsRestart(t *testing.T) {
	requireLab(t)
	s := fiveHosts(t, "\nvars = {\n  demo_value = \"a\"\n  demo_fail  = \"no\"\n}\n")
	t.Cleanup(func() {
		for _, n := range []string{"n4", "n5"} {
			labCmd("lab/lab.sh", "exec", n, "systemctl disable --now kplay-demo; rm -f /etc/systemd/system/kplay-demo.service /etc/kplay-demo.conf; systemctl daemon-reload")
		}
	})
	playbook := s.playbookFile(t, `
play "demo service" {
  hosts        = "n4,n5"
  gather_facts = false
  task "unit" {
    copy {
      content = "[Unit]\nDescription=kplay e2e demo\n[Service]\nExecStart=/bin/sleep infinity\n"
      dest    = "/etc/systemd/system/kplay-demo.service"
    }
  }
  task "config" {
    copy {
      content = "value = ${var.demo_value}\n"
      dest    = "/etc/kplay-demo.conf"
    }
    notify = ["restart demo"]
  }
  task "started" {
    systemd {
      name          = "kplay-demo"
      state         = "started"
      daemon_reload = true
    }
  }
  task "health" {
    shell { cmd = var.demo_fail == "yes" && host.name == "n5" ? "echo unhealthy; exit 1" : "echo healthy" }
  }
  handler "restart demo" {
    systemd {
      name  = "kplay-demo"
      state = "restarted"
    }
  }
}
`)
	invocation := func(n string) string {
		return on(t, n, "systemctl show -p InvocationID --value kplay-demo")
	}
	run := func(args ...string) runResult {
		return s.runArgs(append([]string{"run", playbook, "-i", s.inv, "--output", "json"}, args...)...)
	}
	pending := filepath.Join(s.dir, "state/pending-handlers/n5.json")

	if r := run(); r.code != 0 {
		t.Fatalf("first run:\n%s", r.dump())
	}
	n4, n5 := invocation("n4"), invocation("n5")

	r := run("-e", "demo_value=b", "-e", "demo_fail=yes")
	if r.code != 2 || r.recap.Counts["n5"].Failed != 1 {
		t.Fatalf("want exit 2 with n5 failed:\n%s", r.dump())
	}
	if !changedOn(r, "config")["n5"] {
		t.Fatalf("the config did not change on n5:\n%s", r.dump())
	}
	if got := invocation("n5"); got != n5 {
		t.Error("the failed host n5 was restarted by a handler")
	}
	if got := invocation("n4"); got == n4 {
		t.Error("n4, which did not fail, was not restarted")
	}
	if b, err := os.ReadFile(pending); err != nil || !strings.Contains(string(b), "restart demo") {
		t.Fatalf("no pending restart kept for n5: %v %s", err, b)
	}
	n4 = invocation("n4")

	r = run("-e", "demo_value=b")
	if r.code != 0 {
		t.Fatalf("the run after the failure:\n%s", r.dump())
	}
	if len(changedOn(r, "config")) != 0 {
		t.Errorf("the config changed again; the restart would be for a new reason:\n%s", r.dump())
	}
	if got := invocation("n5"); got == n5 {
		t.Errorf("n5 was not restarted by the next run: the notification was lost\n%s", r.dump())
	}
	if got := invocation("n4"); got != n4 {
		t.Error("n4 was restarted again for nothing")
	}
	if _, err := os.Stat(pending); !os.IsNotExist(err) {
		t.Errorf("the pending restart was not cleared: %v", err)
	}
}

// become through sudo, with the login users a site really has: one with NOPASSWD, one whose
// sudo asks for a password, one allowed a few commands only, one on a host without sudo.
// All but the first fail once, at their first become task, with a message naming user and
// host, and nothing is left in /tmp.
func TestEngineBecome(t *testing.T) {
	requireLab(t)
	for n, users := range map[string][]string{"n4": {"kpok", "kpask", "kppart"}, "n5": {"kpnosudo"}} {
		for _, u := range users {
			on(t, n, fmt.Sprintf("id %[1]s >/dev/null 2>&1 || useradd -m -s /bin/sh %[1]s; "+
				"install -d -o %[1]s -m 700 /home/%[1]s/.ssh; "+
				"install -o %[1]s -m 600 /root/.ssh/authorized_keys /home/%[1]s/.ssh/authorized_keys", u))
		}
	}
	on(t, "n4", "echo 'kpok ALL=(ALL) NOPASSWD:ALL' > /etc/sudoers.d/kpok; "+
		"echo 'kpask ALL=(ALL) ALL' > /etc/sudoers.d/kpask; "+
		"echo 'kppart ALL=(ALL) NOPASSWD: /usr/bin/true, /usr/bin/id' > /etc/sudoers.d/kppart; chmod 440 /etc/sudoers.d/kp*; "+
		"echo kpask:not-the-password-kplay-has | chpasswd; rm -f /root/kplay-become-*")
	on(t, "n5", "mv /usr/bin/sudo /usr/bin/sudo.kplay-off")
	t.Cleanup(func() {
		labCmd("lab/lab.sh", "exec", "n5", "mv /usr/bin/sudo.kplay-off /usr/bin/sudo")
		labCmd("lab/lab.sh", "exec", "n4", "rm -f /etc/sudoers.d/kpok /etc/sudoers.d/kpask /etc/sudoers.d/kppart /root/kplay-become-*")
	})
	s := fiveHosts(t, `
host "ok4" {
  address = "10.77.0.14"
  user    = "kpok"
}
host "ask4" {
  address = "10.77.0.14"
  user    = "kpask"
}
host "part4" {
  address = "10.77.0.14"
  user    = "kppart"
}
host "none5" {
  address = "10.77.0.15"
  user    = "kpnosudo"
}
`)
	playbook := s.playbookFile(t, `
play "become" {
  hosts        = "ok4,ask4,part4,none5"
  gather_facts = false
  become       = true
  task "root file" {
    copy {
      content = "written as root\n"
      dest    = "/root/kplay-become-${host.name}"
      mode    = "0600"
    }
  }
  task "whoami" {
    shell { cmd = "id -u" }
  }
}
`)
	r := s.runPlaybook(playbook)
	if r.code != 2 {
		t.Fatalf("want exit 2 (two hosts cannot become root):\n%s", r.dump())
	}
	res := map[string]hostResult{}
	var results []string
	for _, hr := range r.results {
		res[hr.Host+"/"+hr.Task] = hr
		results = append(results, hr.Host+"/"+hr.Task)
	}
	if got := on(t, "n4", "stat -c '%U %a' /root/kplay-become-ok4"); got != "root 600" {
		t.Errorf("ok4's file: %q, want root 600", got)
	}
	if w := res["ok4/whoami"]; w.Status != "changed" {
		t.Errorf("ok4 whoami: %+v", w)
	}
	for host, want := range map[string]string{
		"ask4":  "become: kpask cannot run sudo without a password on ask4",
		"part4": "become: kppart cannot run sudo without a password on part4",
		"none5": "become: sudo is not installed on none5",
	} {
		first := res[host+"/root file"]
		if first.Status != "failed" || !strings.Contains(first.Msg, want) {
			t.Errorf("%s: %+v, want failed with %q", host, first, want)
		}
		if _, ran := res[host+"/whoami"]; ran {
			t.Errorf("%s went on after failing to become root: %v", host, results)
		}
	}
	if out := on(t, "n4", "ls /root/kplay-become-ask4 /root/kplay-become-part4 2>/dev/null; ls -a /tmp | grep '^[.]kplay' || true"); out != "" {
		t.Errorf("a refused become left files on n4: %s", out)
	}
	if out := on(t, "n5", "ls -a /tmp | grep '^[.]kplay'; ls /root | grep kplay-become || true"); out != "" {
		t.Errorf("a refused become left files on n5: %s", out)
	}
}
