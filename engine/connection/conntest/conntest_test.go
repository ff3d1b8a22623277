package conntest

import (
	"context"
	"errors"
	"io/fs"
	"strings"
	"testing"

	"github.com/kplay-dev/kplay/engine/connection"
)

func TestHostFilesFollowTheConnContract(t *testing.T) {
	ctx := context.Background()
	h := New("n1")
	h.SetFile("/etc/hosts", []byte("127.0.0.1 localhost\n"), 0o644)

	got, err := h.ReadFile(ctx, "/etc/hosts", 100)
	if err != nil || string(got) != "127.0.0.1 localhost\n" {
		t.Fatalf("ReadFile = %q, %v", got, err)
	}
	if _, err := h.ReadFile(ctx, "/etc/hosts", 5); !errors.Is(err, connection.ErrTooLarge) {
		t.Errorf("ReadFile over max: err = %v, want ErrTooLarge", err)
	}
	if _, err := h.ReadFile(ctx, "/nope", 100); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("ReadFile of a missing file: err = %v, want fs.ErrNotExist", err)
	}
	if err := h.WriteFile(ctx, "/no/dir/f", strings.NewReader("x"), 0o600); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("WriteFile without parent: err = %v, want fs.ErrNotExist", err)
	}
	if _, ok := h.File("/no/dir/f"); ok {
		t.Error("a failed WriteFile left a file")
	}
	if err := h.WriteFile(ctx, "/etc/x.conf", strings.NewReader("data"), 0o600); err != nil {
		t.Fatalf("WriteFile: %v", err)
	}
	if f, _ := h.File("/etc/x.conf"); string(f.Data) != "data" || f.Mode != 0o600 {
		t.Errorf("file = %q %o, want \"data\" 600", f.Data, f.Mode)
	}
	ops := []Op{}
	for _, c := range h.Calls() {
		ops = append(ops, c.Op)
	}
	want := []Op{OpReadFile, OpReadFile, OpReadFile, OpWriteFile, OpWriteFile}
	if strings.Join(opStrings(ops), ",") != strings.Join(opStrings(want), ",") {
		t.Errorf("recorded ops = %v, want %v", ops, want)
	}
}

func opStrings(ops []Op) []string {
	var out []string
	for _, o := range ops {
		out = append(out, string(o))
	}
	return out
}

func TestHostRunUsesHandlerAndRecordsStdin(t *testing.T) {
	h := New("n1")
	res, err := h.Run(context.Background(), connection.Cmd{Command: "whoami"})
	if err != nil || res.ExitCode != 127 {
		t.Fatalf("default handler: res %+v err %v, want exit 127", res, err)
	}
	h.Handle(func(_ context.Context, h *Host, c Command) (connection.Result, error) {
		return connection.Result{Stdout: []byte(strings.ToUpper(c.Stdin))}, nil
	})
	res, err = h.Run(context.Background(), connection.Cmd{Command: "tr", Stdin: strings.NewReader("abc")})
	if err != nil || string(res.Stdout) != "ABC" {
		t.Fatalf("Run = %q, %v", res.Stdout, err)
	}
	calls := h.Calls()
	if last := calls[len(calls)-1]; last.Command != "tr" || last.Stdin != "abc" {
		t.Errorf("recorded %+v", last)
	}
	if got := h.Commands(); len(got) != 2 || got[0] != "whoami" {
		t.Errorf("Commands() = %q", got)
	}
}

func TestHostFailures(t *testing.T) {
	ctx := context.Background()
	h := New("n1")
	boom := errors.New("boom")
	h.FailWhen(func(c Call) bool { return c.Op == OpWriteFile && c.Path == "/tmp/bad" }, boom)
	if err := h.WriteFile(ctx, "/tmp/bad", strings.NewReader("x"), 0o644); !errors.Is(err, boom) {
		t.Errorf("FailWhen: err = %v", err)
	}
	if err := h.WriteFile(ctx, "/tmp/good", strings.NewReader("x"), 0o644); err != nil {
		t.Errorf("unmatched call failed: %v", err)
	}

	h.SetUnreachable(errors.New("link down"))
	_, err := h.Run(ctx, connection.Cmd{Command: "true"})
	var u *connection.UnreachableError
	if !errors.As(err, &u) || u.Host != "n1" {
		t.Fatalf("unreachable host: err = %v, want *UnreachableError for n1", err)
	}
	h.SetUnreachable(nil)
	h.Close()
	if _, err := h.ReadFile(ctx, "/tmp/good", 10); !connection.IsUnreachable(err) {
		t.Errorf("call after Close: err = %v, want unreachable", err)
	}
}

func TestFleetDialAndConcurrency(t *testing.T) {
	ctx := context.Background()
	release := make(chan struct{})
	entered := make(chan struct{})
	f := NewFleet(func(ctx context.Context, h *Host, c Command) (connection.Result, error) {
		entered <- struct{}{}
		<-release
		return connection.Result{}, nil
	}, "a", "b")
	f.RefuseDial("b", errors.New("no route"))
	if _, err := f.Dial(ctx, "b"); !connection.IsUnreachable(err) {
		t.Errorf("refused dial: err = %v", err)
	}
	if _, err := f.Dial(ctx, "zz"); !connection.IsUnreachable(err) {
		t.Errorf("dial of unknown host: err = %v", err)
	}
	f.RefuseDial("b", nil)
	done := make(chan struct{})
	for _, n := range []string{"a", "b"} {
		c, err := f.Dial(ctx, n)
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			c.Run(ctx, connection.Cmd{Command: "sleep"})
			done <- struct{}{}
		}()
	}
	<-entered
	<-entered
	if got := f.InFlight(); got != 2 {
		t.Errorf("InFlight = %d, want 2", got)
	}
	close(release)
	<-done
	<-done
	if got := f.MaxInFlight(); got != 2 {
		t.Errorf("MaxInFlight = %d, want 2", got)
	}
	if f.Dials("b") != 2 || len(f.Calls()) != 2 {
		t.Errorf("dials of b = %d, calls = %d", f.Dials("b"), len(f.Calls()))
	}
}

func TestFleetConnectionsCloseIndependently(t *testing.T) {
	ctx := context.Background()
	f := NewFleet(func(context.Context, *Host, Command) (connection.Result, error) {
		return connection.Result{Stdout: []byte("ok")}, nil
	}, "a")
	first, _ := f.Dial(ctx, "a")
	second, _ := f.Dial(ctx, "a")
	first.Close()
	if _, err := first.Run(ctx, connection.Cmd{Command: "x"}); !connection.IsUnreachable(err) {
		t.Errorf("call on a closed connection: err = %v", err)
	}
	if f.Host("a").Closed() {
		t.Error("host reported closed while a connection is open")
	}
	if res, err := second.Run(ctx, connection.Cmd{Command: "x"}); err != nil || string(res.Stdout) != "ok" {
		t.Errorf("second connection: %q, %v", res.Stdout, err)
	}
	second.Close()
	if !f.Host("a").Closed() {
		t.Error("host not reported closed after every connection closed")
	}
	third, _ := f.Dial(ctx, "a")
	if err := third.WriteFile(ctx, "/tmp/f", strings.NewReader("x"), 0o644); err != nil {
		t.Errorf("a new connection after Close: %v", err)
	}
}
