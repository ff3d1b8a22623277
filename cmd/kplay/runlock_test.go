package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Two runs on one state directory would race to create the same CA; the second one is
// refused with exit 5, naming the first one's pid, and touches nothing.
func TestSecondRunOnStateDirIsRefused(t *testing.T) {
	dir := t.TempDir()
	marker := filepath.Join(dir, "second-ran")
	writeLocalPlay(t, dir, "slow.hcl", `  task "hold" {
    shell { cmd = "echo started; sleep 30" }
  }
`)
	writeLocalPlay(t, dir, "quick.hcl", `  task "touch" {
    shell { cmd = "touch `+marker+`" }
  }
`)
	first := exec.Command(kplayBin, "run", "slow.hcl", "-i", "hosts.hcl", "-v")
	first.Dir = dir
	first.Env = append(os.Environ(), "NO_COLOR=1")
	// Its own process group, so killing it also ends the sleep it started.
	first.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var out bytes.Buffer
	first.Stdout = &out
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	kill := func() {
		syscall.Kill(-first.Process.Pid, syscall.SIGKILL)
		first.Wait()
	}
	defer kill()
	lockFile := filepath.Join(dir, "state", "kplay.lock")
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if b, _ := os.ReadFile(lockFile); bytes.Contains(b, []byte("pid ")) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the first run never took the lock; its output:\n%s", out.String())
		}
	}
	r := runKplay(t, dir, "run", "quick.hcl", "-i", "hosts.hcl")
	if r.code != exitBadOptions || !strings.Contains(r.stderr, "is using this state directory") ||
		!strings.Contains(r.stderr, "pid ") || !strings.Contains(r.stderr, lockFile) {
		t.Errorf("second run: exit %d, stderr:\n%s", r.code, r.stderr)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Error("the refused run ran its task")
	}

	// A killed holder leaves no stale lock behind.
	kill()
	if r := runKplay(t, dir, "run", "quick.hcl", "-i", "hosts.hcl"); r.code != 0 {
		t.Fatalf("run after the holder was killed: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if _, err := os.Stat(marker); err != nil {
		t.Error("the run after the holder died did not run")
	}
}

// A command kplay runs on the deploy host does not outlive a kplay killed with SIGKILL.
func TestLocalCommandDiesWithKplay(t *testing.T) {
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "pid")
	writeLocalPlay(t, dir, "site.hcl", `  task "hold" {
    shell { cmd = "echo $$ > `+pidFile+`; exec sleep 300" }
  }
`)
	run := exec.Command(kplayBin, "run", "site.hcl", "-i", "hosts.hcl")
	run.Dir = dir
	if err := run.Start(); err != nil {
		t.Fatal(err)
	}
	var pid int
	for deadline := time.Now().Add(20 * time.Second); pid == 0; time.Sleep(20 * time.Millisecond) {
		b, _ := os.ReadFile(pidFile)
		if _, err := fmt.Sscan(string(b), &pid); err != nil && time.Now().After(deadline) {
			run.Process.Kill()
			t.Fatal("the task never started")
		}
	}
	run.Process.Kill()
	run.Wait()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			return
		}
		if time.Now().After(deadline) {
			syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("pid %d, started by the killed kplay, still runs", pid)
		}
	}
}
