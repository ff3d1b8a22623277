// Package local runs commands and moves files on the deploy host, the machine running kplay.
//
// It implements connection.Conn with os/exec and the local file system, so that plays can
// treat the deploy host like any other host. Privilege changes, retries and timeouts stay with
// the runner, as for every connection.
package local

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/kplay-dev/kplay/engine/connection"
)

// HostName is the name a local connection uses in its errors.
const HostName = "localhost"

// waitDelay bounds how long Run waits for output after the shell has exited or the context
// has ended: a background child that inherited stdout would otherwise hold Run forever.
const waitDelay = 2 * time.Second

// Conn is the deploy host. Its zero value is not usable; call New. It holds no resources, so
// Close only makes later calls fail.
type Conn struct {
	closeOnce sync.Once
	closed    chan struct{}
}

var _ connection.Conn = (*Conn)(nil)

// New returns a connection to the deploy host.
func New() *Conn {
	return &Conn{closed: make(chan struct{})}
}

// Run runs cmd with /bin/sh -c. The shell gets its own process group, so cancelling ctx kills
// the shell and everything it started. If kplay itself dies (SIGKILL leaves no time to
// cancel), the kernel kills the shell, or the command it became, rather than leave it
// running unwatched. (The kernel ties that to the thread that forked; Go ends a thread only
// when a goroutine locked to it exits, which kplay never does.)
func (c *Conn) Run(ctx context.Context, cmd connection.Cmd) (connection.Result, error) {
	if err := c.usable(); err != nil {
		return connection.Result{}, err
	}
	var stdout, stderr bytes.Buffer
	sh := exec.CommandContext(ctx, "/bin/sh", "-c", cmd.Command)
	sh.Stdin = cmd.Stdin
	sh.Stdout = &stdout
	sh.Stderr = &stderr
	sh.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	sh.Cancel = func() error { return killGroup(sh.Process.Pid) }
	sh.WaitDelay = waitDelay

	err := sh.Run()
	res := connection.Result{Stdout: stdout.Bytes(), Stderr: stderr.Bytes()}
	if ctx.Err() != nil {
		return res, fmt.Errorf("run: %w", context.Cause(ctx))
	}
	code, err := exitCode(sh, err)
	res.ExitCode = code
	if err != nil {
		return res, &connection.UnreachableError{Host: HostName, Err: fmt.Errorf("run: %w", err)}
	}
	return res, nil
}

func killGroup(pid int) error {
	err := syscall.Kill(-pid, syscall.SIGKILL)
	if errors.Is(err, syscall.ESRCH) {
		return os.ErrProcessDone
	}
	return err
}

// exitCode turns the outcome of a finished command into a shell-style exit status: a
// command killed by a signal reports 128 plus the signal number, as sh and ssh do.
func exitCode(sh *exec.Cmd, err error) (int, error) {
	var exitErr *exec.ExitError
	switch {
	case err == nil, errors.Is(err, exec.ErrWaitDelay):
		// ErrWaitDelay means the shell exited but a child kept its output open; the
		// shell's own status is still known and is what the caller asked for.
		return sh.ProcessState.ExitCode(), nil
	case errors.As(err, &exitErr):
		if ws, ok := exitErr.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal()), nil
		}
		return exitErr.ExitCode(), nil
	default:
		return -1, err
	}
}

// ReadFile reads path, refusing files larger than max bytes.
func (c *Conn) ReadFile(ctx context.Context, path string, max int64) ([]byte, error) {
	if err := c.usable(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()

	if info, err := f.Stat(); err != nil {
		return nil, err
	} else if info.Size() > max {
		return nil, &fs.PathError{Op: "read", Path: path, Err: connection.ErrTooLarge}
	}
	// The file may grow between Stat and the read: read one byte past the limit to notice.
	data, err := io.ReadAll(io.LimitReader(&ctxReader{ctx: ctx, r: f}, max+1))
	if err != nil {
		return nil, &fs.PathError{Op: "read", Path: path, Err: err}
	}
	if int64(len(data)) > max {
		return nil, &fs.PathError{Op: "read", Path: path, Err: connection.ErrTooLarge}
	}
	return data, nil
}

// WriteFile writes r to path atomically: a temporary file beside path, created 0600 so no one
// can read it half written, is synced, given mode and renamed over path. The temporary file is
// removed on any failure, including cancellation. Like any rename-based write it replaces the
// owner of an existing path with the current user.
func (c *Conn) WriteFile(ctx context.Context, path string, r io.Reader, mode fs.FileMode) error {
	if err := c.usable(); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, connection.StagePrefix+connection.StageTag+"-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := fillTemp(ctx, tmp, r, mode); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("write %s: %w", path, err)
	}
	syncDir(dir)
	return nil
}

// fillTemp copies r into tmp, makes it durable, gives it mode and closes it.
func fillTemp(ctx context.Context, tmp *os.File, r io.Reader, mode fs.FileMode) error {
	_, err := io.Copy(tmp, &ctxReader{ctx: ctx, r: r})
	if err == nil {
		err = tmp.Sync()
	}
	if err == nil {
		err = tmp.Chmod(mode)
	}
	if closeErr := tmp.Close(); err == nil {
		err = closeErr
	}
	return err
}

// syncDir makes a rename durable. It is best effort: some file systems refuse to sync a
// directory, and the file itself is complete either way.
func syncDir(dir string) {
	d, err := os.Open(dir)
	if err != nil {
		return
	}
	_ = d.Sync()
	d.Close()
}

// Close makes later calls fail; commands already running are not affected.
func (c *Conn) Close() error {
	c.closeOnce.Do(func() { close(c.closed) })
	return nil
}

func (c *Conn) usable() error {
	select {
	case <-c.closed:
		return errors.New("local connection is closed")
	default:
		return nil
	}
}

// ctxReader stops a copy between two reads once its context has ended.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (r *ctxReader) Read(p []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, context.Cause(r.ctx)
	}
	return r.r.Read(p)
}
