// Package runlock keeps two kplay runs from working on one state directory at once. Two runs
// would race to create the same CA, write the same fact caches and restart the same services;
// the second one is refused instead, with the first one's pid and start time.
//
// The lock is flock(2) on a file in the state directory, so the kernel releases it when the
// holder dies, even by SIGKILL: a killed run never leaves a stale lock to delete by hand.
package runlock

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/kplay-dev/kplay/engine/internal/atomicfile"
)

// FileName is the lock file's name inside the state directory.
const FileName = "kplay.lock"

// HeldError says another process holds the lock.
type HeldError struct {
	Path string
	// Holder is what the holder wrote: its pid and start time, or empty if it had not yet.
	Holder string
}

func (e *HeldError) Error() string {
	who := "another kplay run"
	if e.Holder != "" {
		who += " (" + e.Holder + ")"
	}
	return fmt.Sprintf("%s is using this state directory: %s is locked; wait for it to finish", who, e.Path)
}

// Lock is a held lock; Release gives it up.
type Lock struct{ f *os.File }

// Acquire takes the lock of stateDir, creating the directory if needed, without waiting.
func Acquire(stateDir string) (*Lock, error) {
	if err := os.MkdirAll(stateDir, atomicfile.DirMode); err != nil {
		return nil, fmt.Errorf("state directory: %w", err)
	}
	path := filepath.Join(stateDir, FileName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock file: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		holder, _ := os.ReadFile(path)
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, &HeldError{Path: path, Holder: strings.TrimSpace(string(holder))}
		}
		return nil, fmt.Errorf("locking %s: %w", path, err)
	}
	// Who holds it is for the message a second run prints; the lock itself is the flock.
	if err := f.Truncate(0); err == nil {
		fmt.Fprintf(f, "pid %d, started %s\n", os.Getpid(), time.Now().Format(time.RFC3339))
	}
	return &Lock{f: f}, nil
}

// Release gives the lock up. The file stays: removing it would let a third run lock a new
// file while a second one still waits on the old.
func (l *Lock) Release() {
	if l == nil || l.f == nil {
		return
	}
	_ = l.f.Truncate(0)
	l.f.Close()
	l.f = nil
}
