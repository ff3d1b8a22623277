package e2e

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestFaults breaks runs on the deployed lab and checks that nothing is lost: no file on a
// node half-written, the state directory consistent, the right exit code, and a next run
// that converges. KPLAY_FAULT_ROUNDS sets how many random kill points are tried (default 3).
func TestFaults(t *testing.T) {
	requireLab(t)
	s := sharedSite(t)
	s.deployed(t)
	members := s.etcdctl(t, "member", "list")

	t.Run("SIGKILL and SIGINT at random points of a run that uploads", func(t *testing.T) {
		rounds := 3
		fmt.Sscan(os.Getenv("KPLAY_FAULT_ROUNDS"), &rounds)
		for i := 0; i < rounds; i++ {
			sig := []syscall.Signal{syscall.SIGKILL, syscall.SIGINT}[i%2]
			// Missing binaries make the run upload about 100 MB per node.
			for _, n := range []string{"n1", "n2", "n3"} {
				on(t, n, "rm -f /usr/local/bin/kubectl /usr/local/bin/kube-proxy")
			}
			delay := time.Duration(1000+rand.IntN(4000)) * time.Millisecond
			code := s.killAfter(t, delay, sig)
			t.Logf("round %d: %s after %s: exit %d", i, sig, delay, code)
			if sig == syscall.SIGINT && code != 99 && code != 0 {
				t.Errorf("SIGINT: exit %d, want 99 (or 0 if it finished first)", code)
			}
			s.noHalfFiles(t)
			s.converges(t)
			s.noStagingLeft(t)
		}
	})

	t.Run("sshd killed on a node mid-task", func(t *testing.T) {
		playbook := s.playbookFile(t, `
play "long" {
  hosts        = "etcd"
  gather_facts = false
  task "wait" {
    shell { cmd = "sleep 6; echo done" }
  }
  task "after" {
    shell { cmd = "echo after" }
  }
}
`)
		go func() {
			time.Sleep(2 * time.Second)
			labCmd("lab/lab.sh", "console", "n2", "sh", "-c", "kill $(pgrep -x sshd)")
		}()
		r := s.runPlaybook(playbook)
		labCmd("lab/lab.sh", "console", "n2", "systemctl", "restart", "ssh.service")
		if r.code != 3 || r.recap.Counts["n2"].Unreachable == 0 {
			t.Errorf("want exit 3 with n2 unreachable:\n%s", r.dump())
		}
		for _, n := range []string{"n1", "n3"} {
			if c := r.recap.Counts[n]; c.OK != 2 {
				t.Errorf("%s did not finish both tasks: %+v", n, c)
			}
		}
		waitSSH(t, "n2")
		s.converges(t)
	})

	t.Run("a node's network cut mid-upload", func(t *testing.T) {
		on(t, "n2", "rm -f /usr/local/bin/kubelet /usr/local/bin/kube-proxy")
		go func() {
			time.Sleep(1500 * time.Millisecond)
			exec.Command("ip", "link", "set", "vn2", "down").Run()
			time.Sleep(3 * time.Second)
			exec.Command("ip", "link", "set", "vn2", "up").Run()
		}()
		r := s.run("--limit", "n2", "--tags", "kubelet,kube-proxy")
		t.Logf("run with n2's link cut for 3s: exit %d, n2 %+v", r.code, r.recap.Counts["n2"])
		if r.code != 0 && r.code != 3 {
			t.Errorf("want exit 0 (the link came back in time) or 3:\n%s", r.dump())
		}
		s.noHalfFiles(t)
		s.converges(t)
	})

	t.Run("a node rebooted mid-play", func(t *testing.T) {
		playbook := s.playbookFile(t, `
play "long" {
  hosts        = "kube_node"
  gather_facts = false
  task "wait" {
    shell { cmd = "sleep 25; echo done" }
  }
}
`)
		go func() {
			time.Sleep(2 * time.Second)
			labCmd("lab/lab.sh", "console", "n3", "systemctl", "reboot")
		}()
		r := s.runPlaybook(playbook)
		if r.code != 3 || r.recap.Counts["n3"].Unreachable == 0 {
			t.Errorf("want exit 3 with n3 unreachable:\n%s", r.dump())
		}
		waitSSH(t, "n3")
		s.converges(t)
	})

	t.Run("an etcd member down during a run: the cluster serves, the run brings it back", func(t *testing.T) {
		on(t, "n1", "systemctl stop etcd")
		if h := s.etcdctlAt(t, "https://10.77.0.12:2379,https://10.77.0.13:2379", "endpoint", "health"); strings.Count(h, "is healthy") != 2 {
			t.Fatalf("two members do not serve:\n%s", h)
		}
		if out, err := s.kubectlErr("get", "nodes", "-o", "name"); err != nil {
			t.Errorf("the API does not serve with one etcd member down: %v %s", err, out)
		}
		r := s.run("--tags", "etcd")
		if r.code != 0 || len(changedOn(r, "etcd : start etcd")) != 1 {
			t.Errorf("the run did not start n1's etcd again:\n%s", r.dump())
		}
		s.etcdHealthy(t)
	})

	t.Run("etcd keeps its members and data through every run", func(t *testing.T) {
		if got := s.etcdctl(t, "member", "list"); got != members {
			t.Errorf("members changed:\nbefore %s\nafter  %s", members, got)
		}
	})

	t.Run("a full stage directory fails the download and keeps the previous file", func(t *testing.T) {
		stage := filepath.Join(t.TempDir(), "stage")
		os.MkdirAll(stage, 0o755)
		if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", stage).CombinedOutput(); err != nil {
			t.Fatalf("mount: %v %s", err, out)
		}
		defer exec.Command("umount", stage).Run()
		os.MkdirAll(filepath.Join(stage, "downloads"), 0o755)
		previous := []byte("the previous etcd tarball\n")
		prevPath := filepath.Join(stage, "downloads/etcd-v3.4.23-linux-amd64.tar.gz")
		os.WriteFile(prevPath, previous, 0o644)
		r := s.run("--tags", "prepare-stage", "-e", "stage_dir="+stage, "-e", `stage_artifacts=["etcd"]`)
		if r.code != 2 {
			t.Errorf("want exit 2 for a download into a full disk:\n%s", r.dump())
		}
		if b, _ := os.ReadFile(prevPath); string(b) != string(previous) {
			t.Errorf("the previous file was replaced: %q", b)
		}
		entries, _ := os.ReadDir(filepath.Join(stage, "downloads"))
		if len(entries) != 1 {
			var names []string
			for _, e := range entries {
				names = append(names, e.Name())
			}
			t.Errorf("leftovers in the stage: %v", names)
		}
	})
}

// killAfter runs the site and sends sig after d; it returns kplay's exit code.
func (s *site) killAfter(t *testing.T, d time.Duration, sig syscall.Signal) int {
	t.Helper()
	cmd := exec.Command(kplay, "run", filepath.Join(repo, "site.hcl"), "-i", s.inv, "--output", "json")
	cmd.Dir = repo
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	timer := time.AfterFunc(d, func() { cmd.Process.Signal(sig) })
	defer timer.Stop()
	err := cmd.Wait()
	if ee, ok := err.(*exec.ExitError); ok {
		if ee.ExitCode() < 0 {
			return 128 + int(sig)
		}
		return ee.ExitCode()
	}
	return 0
}

// noHalfFiles checks the nodes' binaries and the state directory after an interrupted run:
// every binary is absent or whole, no temporary file is left in the state directory.
func (s *site) noHalfFiles(t *testing.T) {
	t.Helper()
	for _, n := range []string{"n1", "n2", "n3"} {
		for _, bin := range []string{"kubectl", "kube-proxy", "kubelet"} {
			src := filepath.Join(labDir, "stage/kubernetes_node/node/bin", bin)
			want := sha256File(t, src)
			got := on(t, n, "sha256sum /usr/local/bin/"+bin+" 2>/dev/null | cut -c1-64")
			if got != "" && got != want {
				t.Errorf("%s: /usr/local/bin/%s is neither absent nor whole (sha %s)", n, bin, got)
			}
		}
	}
	// A killed upload leaves its private staging directory beside the destination (never
	// the destination half-written); the next run sweeps it (noStagingLeft).
	for _, n := range []string{"n1", "n2", "n3"} {
		if left := on(t, n, "ls -a /usr/local/bin | grep -c '^.kplay-tmp-' || true"); left != "0" {
			t.Logf("%s: %s upload staging directories left in /usr/local/bin by the killed run", n, left)
		}
	}
	var temps []string
	filepath.Walk(filepath.Join(s.dir, "state"), func(p string, info os.FileInfo, err error) error {
		if err == nil && strings.Contains(filepath.Base(p), ".tmp-") {
			temps = append(temps, p)
		}
		return nil
	})
	if len(temps) > 0 {
		t.Errorf("temporary files in the state directory: %v", temps)
	}
}

// noStagingLeft checks that the runs after a fault swept every staging entry the killed
// run left on the nodes.
func (s *site) noStagingLeft(t *testing.T) {
	t.Helper()
	for _, n := range []string{"n1", "n2", "n3"} {
		if left := on(t, n, "find / -xdev -name '.kplay-tmp-*' 2>/dev/null"); left != "" {
			t.Errorf("%s: staging entries still there after the next runs:\n%s", n, left)
		}
	}
}

// converges runs the site until it succeeds (once more at most) and then checks a re-run
// changes nothing.
func (s *site) converges(t *testing.T) {
	t.Helper()
	r := s.run()
	if r.code != 0 {
		t.Fatalf("the run after the fault failed:\n%s", r.dump())
	}
	r = s.run()
	for host, c := range r.recap.Counts {
		if c.Changed != 0 || r.code != 0 {
			t.Errorf("not converged: %s changed=%d (exit %d)\n%s", host, c.Changed, r.code, r.dump())
		}
	}
}

func (s *site) playbookFile(t *testing.T, src string) string {
	p := filepath.Join(t.TempDir(), "play.hcl")
	if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func (s *site) runPlaybook(path string) runResult {
	return s.runArgs("run", path, "-i", s.inv, "--output", "json")
}

func waitSSH(t *testing.T, n string) {
	t.Helper()
	eventually(t, 120*time.Second, func() string {
		if _, err := labCmd("lab/lab.sh", "exec", n, "true"); err != nil {
			return n + ": no ssh yet"
		}
		return ""
	})
}

func sha256File(t *testing.T, p string) string {
	out, err := exec.Command("sha256sum", p).Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.Fields(string(out))[0]
}
