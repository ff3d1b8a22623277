package runlock

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestSecondAcquireIsRefusedUntilRelease(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	l, err := Acquire(dir)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Acquire(dir)
	var held *HeldError
	if !errors.As(err, &held) {
		t.Fatalf("second acquire: %v, want HeldError", err)
	}
	if !strings.Contains(held.Holder, "pid ") || !strings.Contains(err.Error(), filepath.Join(dir, FileName)) {
		t.Errorf("message does not name the holder and the file: %v", err)
	}
	l.Release()
	l2, err := Acquire(dir)
	if err != nil {
		t.Fatalf("acquire after release: %v", err)
	}
	l2.Release()
}

// The kernel drops a dead holder's lock: a run killed with SIGKILL leaves nothing to clean.
func TestLockOfKilledProcessIsFree(t *testing.T) {
	dir := t.TempDir()
	holder := exec.Command(os.Args[0], "-test.run=^TestHoldLock$")
	holder.Env = append(os.Environ(), "RUNLOCK_HOLD="+dir)
	stdout, _ := holder.StdoutPipe()
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	line, _ := bufio.NewReader(stdout).ReadString('\n')
	if strings.TrimSpace(line) != "held" {
		t.Fatalf("holder said %q", line)
	}
	var held *HeldError
	if _, err := Acquire(dir); !errors.As(err, &held) {
		t.Fatalf("lock held by another process was granted: %v", err)
	}
	holder.Process.Kill()
	holder.Wait()
	l, err := Acquire(dir)
	if err != nil {
		t.Fatalf("lock of a killed holder not released: %v", err)
	}
	l.Release()
}

// TestHoldLock is the holder process of TestLockOfKilledProcessIsFree.
func TestHoldLock(t *testing.T) {
	dir := os.Getenv("RUNLOCK_HOLD")
	if dir == "" {
		t.Skip("helper process only")
	}
	if _, err := Acquire(dir); err != nil {
		t.Fatal(err)
	}
	fmt.Println("held")
	time.Sleep(time.Minute)
}
