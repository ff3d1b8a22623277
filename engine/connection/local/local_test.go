package local

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kplay-dev/kplay/engine/connection"
)

func TestRunExitCodesAndOutput(t *testing.T) {
	c := New()
	tests := []struct {
		name, cmd, stdin string
		code             int
		wantOut, wantErr string
	}{
		{name: "ok", cmd: "echo out; echo err >&2", code: 0, wantOut: "out\n", wantErr: "err\n"},
		{name: "exit status", cmd: "echo x; exit 3", code: 3, wantOut: "x\n"},
		{name: "not found", cmd: "no-such-command-kplay", code: 127},
		{name: "signal", cmd: "kill -TERM $$", code: 128 + int(syscall.SIGTERM)},
		{name: "stdin", cmd: "tr a-z A-Z", stdin: "hello", wantOut: "HELLO"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := connection.Cmd{Command: tt.cmd}
			if tt.stdin != "" {
				cmd.Stdin = strings.NewReader(tt.stdin)
			}
			res, err := c.Run(context.Background(), cmd)
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			if res.ExitCode != tt.code {
				t.Errorf("exit code = %d, want %d (stderr %q)", res.ExitCode, tt.code, res.Stderr)
			}
			if string(res.Stdout) != tt.wantOut {
				t.Errorf("stdout = %q, want %q", res.Stdout, tt.wantOut)
			}
			if tt.wantErr != "" && string(res.Stderr) != tt.wantErr {
				t.Errorf("stderr = %q, want %q", res.Stderr, tt.wantErr)
			}
		})
	}
}

func TestRunConcurrent(t *testing.T) {
	c := New()
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			res, err := c.Run(context.Background(), connection.Cmd{Command: "echo " + strconv.Itoa(i)})
			if err != nil || string(res.Stdout) != strconv.Itoa(i)+"\n" {
				t.Errorf("run %d: %q, %v", i, res.Stdout, err)
			}
		})
	}
	wg.Wait()
}

// TestRunCancelKillsProcessGroup cancels a shell whose background child reported its PID
// through a FIFO, so the test knows the command is running without sleeping.
func TestRunCancelKillsProcessGroup(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "ready")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		cmd := "sleep 30 & echo $! > " + fifo + "; wait"
		_, err := New().Run(ctx, connection.Cmd{Command: cmd})
		done <- err
	}()

	pid := readPID(t, fifo)
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Run after cancel: %v, want context.Canceled", err)
		}
		if connection.IsUnreachable(err) {
			t.Errorf("cancelled Run reported unreachable: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	waitGone(t, pid)
}

// TestRunBackgroundChildHoldingOutput checks that a daemon started by the command, which
// keeps the command's stdout open, does not hold Run until it exits.
func TestRunBackgroundChildHoldingOutput(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "pid")
	done := make(chan connection.Result, 1)
	go func() {
		res, err := New().Run(context.Background(), connection.Cmd{
			Command: "sleep 60 & echo $! > " + pidFile + "; echo started; exit 4",
		})
		if err != nil {
			t.Errorf("Run: %v", err)
		}
		done <- res
	}()
	select {
	case res := <-done:
		if res.ExitCode != 4 || string(res.Stdout) != "started\n" {
			t.Errorf("result = %d %q, want 4 \"started\\n\"", res.ExitCode, res.Stdout)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run waited for the background child")
	}
	if data, err := os.ReadFile(pidFile); err == nil {
		if pid, err := strconv.Atoi(strings.TrimSpace(string(data))); err == nil {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

func readPID(t *testing.T, fifo string) int {
	t.Helper()
	data, err := os.ReadFile(fifo) // blocks until the shell has written and closed it
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		t.Fatalf("pid %q: %v", data, err)
	}
	return pid
}

// waitGone waits until pid has died. A killed orphan may linger as a zombie when nothing
// reaps it, which counts as dead.
func waitGone(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil || isZombie(stat) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	syscall.Kill(pid, syscall.SIGKILL)
	t.Fatalf("process %d survived the cancellation", pid)
}

func isZombie(stat []byte) bool {
	i := bytes.LastIndexByte(stat, ')')
	return i >= 0 && len(stat) > i+2 && stat[i+2] == 'Z'
}

func TestReadFile(t *testing.T) {
	c := New()
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	if err := os.WriteFile(path, []byte("0123456789"), 0o644); err != nil {
		t.Fatal(err)
	}

	data, err := c.ReadFile(context.Background(), path, 10)
	if err != nil || string(data) != "0123456789" {
		t.Errorf("ReadFile at limit = %q, %v", data, err)
	}
	if _, err := c.ReadFile(context.Background(), path, 9); !errors.Is(err, connection.ErrTooLarge) {
		t.Errorf("ReadFile over limit: %v, want ErrTooLarge", err)
	}
	_, err = c.ReadFile(context.Background(), filepath.Join(dir, "missing"), 10)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("ReadFile of missing file: %v, want fs.ErrNotExist", err)
	}
}

func TestWriteFile(t *testing.T) {
	c := New()
	dir := t.TempDir()
	path := filepath.Join(dir, "out")
	if err := os.WriteFile(path, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	want := bytes.Repeat([]byte("kplay\n"), 1<<20)

	if err := c.WriteFile(context.Background(), path, bytes.NewReader(want), 0o640); err != nil {
		t.Fatalf("WriteFile: %v", err)
	}
	got, err := os.ReadFile(path)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("content after WriteFile: %d bytes, %v; want %d bytes", len(got), err, len(want))
	}
	if info, _ := os.Stat(path); info.Mode().Perm() != 0o640 {
		t.Errorf("mode = %v, want 0640", info.Mode().Perm())
	}
	assertOnly(t, dir, "out")
}

func TestWriteFileFailureKeepsOldContent(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out")
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	tests := []struct {
		name string
		ctx  context.Context
		r    io.Reader
	}{
		{"reader error", context.Background(), io.MultiReader(strings.NewReader("new"), errReader{})},
		{"cancelled", ctx, &cancelAfterFirstRead{cancel: cancel}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := New().WriteFile(tt.ctx, path, tt.r, 0o644); err == nil {
				t.Fatal("WriteFile succeeded")
			}
			if got, _ := os.ReadFile(path); string(got) != "old" {
				t.Errorf("content = %q, want the old one", got)
			}
			assertOnly(t, dir, "out")
		})
	}
}

// TestWriteFileAtomic reads the file while it is rewritten with alternating contents: every
// read must see one whole version, never a mix or a truncated file.
func TestWriteFileAtomic(t *testing.T) {
	c := New()
	path := filepath.Join(t.TempDir(), "f")
	versions := [][]byte{bytes.Repeat([]byte("a"), 4<<20), bytes.Repeat([]byte("b"), 4<<20)}
	if err := os.WriteFile(path, versions[0], 0o644); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var reads int
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		for {
			select {
			case <-stop:
				return
			default:
			}
			got, err := os.ReadFile(path)
			reads++
			if err != nil || !(bytes.Equal(got, versions[0]) || bytes.Equal(got, versions[1])) {
				t.Errorf("reader saw %d bytes, err %v", len(got), err)
				return
			}
		}
	}()
	for i := range 20 {
		if err := c.WriteFile(context.Background(), path, bytes.NewReader(versions[i%2]), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	<-readerDone
	if reads == 0 {
		t.Error("reader never ran")
	}
}

func TestClosed(t *testing.T) {
	c := New()
	c.Close()
	c.Close()
	if _, err := c.Run(context.Background(), connection.Cmd{Command: "true"}); err == nil {
		t.Error("Run on a closed connection succeeded")
	}
}

func assertOnly(t *testing.T, dir string, names ...string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	if strings.Join(got, ",") != strings.Join(names, ",") {
		t.Errorf("directory holds %v, want %v (a temporary file was left behind?)", got, names)
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("broken source") }

// cancelAfterFirstRead hands out data once, then cancels the write's context.
type cancelAfterFirstRead struct {
	cancel func()
	done   bool
}

func (r *cancelAfterFirstRead) Read(p []byte) (int, error) {
	if r.done {
		r.cancel()
		return copy(p, "more"), nil
	}
	r.done = true
	return copy(p, "new"), nil
}
