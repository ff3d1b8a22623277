package ssh_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/kplay-dev/kplay/engine/connection"
	"github.com/kplay-dev/kplay/engine/connection/ssh"
	"github.com/kplay-dev/kplay/engine/connection/ssh/sshtest"
)

func config(srv *sshtest.Server) ssh.Config {
	return ssh.Config{
		Host:           "node1",
		Address:        srv.Host,
		Port:           srv.Port,
		User:           srv.User,
		KeyFiles:       []string{srv.KeyFile},
		KnownHostsFile: srv.KnownHosts,
	}
}

func dial(t *testing.T, cfg ssh.Config) *ssh.Conn {
	t.Helper()
	c, err := ssh.Dial(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestRun(t *testing.T) {
	srv := sshtest.Start(t)
	c := dial(t, config(srv))
	if c.HostKeyFingerprint() != srv.HostKeyFingerprint {
		t.Errorf("HostKeyFingerprint = %q, want %q", c.HostKeyFingerprint(), srv.HostKeyFingerprint)
	}
	tests := []struct {
		name, cmd, stdin string
		code             int
		stdout, stderr   string
	}{
		{name: "ok", cmd: "echo out; echo err >&2", stdout: "out\n", stderr: "err\n"},
		{name: "exit status", cmd: "echo x; exit 3", code: 3, stdout: "x\n"},
		{name: "not found", cmd: "no-such-command-kplay 2>/dev/null", code: 127},
		{name: "signal", cmd: "kill -TERM $$", code: 128 + int(syscall.SIGTERM)},
		{name: "stdin", cmd: "tr a-z A-Z", stdin: "hello", stdout: "HELLO"},
		{name: "stdin unread", cmd: "exit 5", stdin: strings.Repeat("x", 1<<20), code: 5},
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
			if res.ExitCode != tt.code || string(res.Stdout) != tt.stdout || string(res.Stderr) != tt.stderr {
				t.Errorf("Run = %d %q %q, want %d %q %q", res.ExitCode, res.Stdout, res.Stderr,
					tt.code, tt.stdout, tt.stderr)
			}
		})
	}
}

func TestRunConcurrent(t *testing.T) {
	tests := []struct {
		name        string
		opts        []sshtest.Option
		runs        int
		commandTail string
	}{
		{name: "many sessions", runs: 40},
		// Two session slots for ten commands: Run must wait for free slots, not fail.
		{name: "session limit", opts: []sshtest.Option{sshtest.WithMaxSessions(2)}, runs: 10,
			commandTail: "; sleep 0.2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := dial(t, config(sshtest.Start(t, tt.opts...)))
			var wg sync.WaitGroup
			for i := range tt.runs {
				wg.Go(func() {
					cmd := connection.Cmd{Command: "echo " + strconv.Itoa(i) + tt.commandTail}
					res, err := c.Run(context.Background(), cmd)
					if err != nil || string(res.Stdout) != strconv.Itoa(i)+"\n" {
						t.Errorf("run %d: %q, %v", i, res.Stdout, err)
					}
				})
			}
			wg.Wait()
		})
	}
}

func TestRunCancel(t *testing.T) {
	srv := sshtest.Start(t)
	c := dial(t, config(srv))
	fifo := mkfifo(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := c.Run(ctx, connection.Cmd{Command: "echo $$ > " + fifo + "; exec sleep 30"})
		done <- err
	}()

	pid := readPID(t, fifo)
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) || connection.IsUnreachable(err) {
			t.Fatalf("Run after cancel: %v, want context.Canceled", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	waitGone(t, pid)

	// The connection survives a cancelled command.
	if res, err := c.Run(context.Background(), connection.Cmd{Command: "echo ok"}); err != nil ||
		string(res.Stdout) != "ok\n" {
		t.Errorf("Run after a cancelled one: %q, %v", res.Stdout, err)
	}
}

// A cancelled command's children die with it: the command's process group is killed, as
// Ctrl-C in kplay promises. /bin/sh is dash on Debian, whose kill takes no "--".
func TestRunCancelKillsChildren(t *testing.T) {
	srv := sshtest.Start(t)
	c := dial(t, config(srv))
	fifo := mkfifo(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := c.Run(ctx, connection.Cmd{Command: "sleep 31 & echo $! > " + fifo + "; wait"})
		done <- err
	}()
	child := readPID(t, fifo)
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run after cancel: %v, want context.Canceled", err)
	}
	waitGone(t, child)
}

func TestServerLostMidCommand(t *testing.T) {
	srv := sshtest.Start(t)
	c := dial(t, config(srv))
	fifo := mkfifo(t)
	done := make(chan error, 1)
	go func() {
		_, err := c.Run(context.Background(), connection.Cmd{
			Command: "echo $$ > " + fifo + "; exec sleep 30",
		})
		done <- err
	}()
	pid := readPID(t, fifo)
	t.Cleanup(func() { syscall.Kill(pid, syscall.SIGKILL) }) // it outlives its sshd

	srv.Stop()
	select {
	case err := <-done:
		assertUnreachable(t, "Run", err)
	case <-time.After(20 * time.Second):
		t.Fatal("Run did not return after the server died")
	}
	_, err := c.ReadFile(context.Background(), "/etc/hostname", 1<<20)
	assertUnreachable(t, "ReadFile", err)
}

func TestDialClosedPort(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	_, err = ssh.Dial(context.Background(), ssh.Config{
		Host: "node9", Address: "127.0.0.1", Port: port, User: "root",
		KeyFiles: []string{writeClientKey(t)}, KnownHostsFile: filepath.Join(t.TempDir(), "kh"),
	})
	assertUnreachable(t, "Dial", err)
	if !strings.Contains(err.Error(), "node9") {
		t.Errorf("error %q does not name the host", err)
	}
}

func TestUnknownHostRefused(t *testing.T) {
	srv := sshtest.Start(t)
	cfg := config(srv)
	cfg.KnownHostsFile = filepath.Join(t.TempDir(), "known_hosts")
	_, err := ssh.Dial(context.Background(), cfg)
	hkErr := assertHostKeyError(t, err, ssh.HostKeyUnknown, srv.HostKeyFingerprint)
	for _, want := range []string{"node1", srv.HostKeyFingerprint, cfg.KnownHostsFile, "--accept-new-host-keys"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if hkErr.Address != srv.Addr {
		t.Errorf("Address = %q, want %q", hkErr.Address, srv.Addr)
	}
	if _, err := os.Stat(cfg.KnownHostsFile); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("known_hosts was written without --accept-new-host-keys: %v", err)
	}
}

func TestAcceptNewHostKey(t *testing.T) {
	srv := sshtest.Start(t)
	cfg := config(srv)
	cfg.KnownHostsFile = filepath.Join(t.TempDir(), "ssh", "known_hosts")
	cfg.AcceptNewHostKeys = true
	c := dial(t, cfg)
	if res, err := c.Run(context.Background(), connection.Cmd{Command: "echo hi"}); err != nil ||
		string(res.Stdout) != "hi\n" {
		t.Fatalf("Run: %q, %v", res.Stdout, err)
	}
	assertKnownHosts(t, cfg.KnownHostsFile, map[string]gossh.PublicKey{srv.Addr: srv.HostKey})

	cfg.AcceptNewHostKeys = false
	c2 := dial(t, cfg)
	if c2.HostKeyFingerprint() != srv.HostKeyFingerprint {
		t.Errorf("second dial saw %s, want %s", c2.HostKeyFingerprint(), srv.HostKeyFingerprint)
	}
}

// TestAcceptNewHostKeysConcurrently dials two hosts many times at once with one known_hosts
// file: each must be recorded once and every dial must succeed.
func TestAcceptNewHostKeysConcurrently(t *testing.T) {
	servers := []*sshtest.Server{sshtest.Start(t), sshtest.Start(t)}
	file := filepath.Join(t.TempDir(), "known_hosts")
	var wg sync.WaitGroup
	for i := range 16 {
		srv := servers[i%2]
		wg.Go(func() {
			cfg := config(srv)
			cfg.KnownHostsFile = file
			cfg.AcceptNewHostKeys = true
			c, err := ssh.Dial(context.Background(), cfg)
			if err != nil {
				t.Errorf("Dial %d: %v", i, err)
				return
			}
			c.Close()
		})
	}
	wg.Wait()
	assertKnownHosts(t, file, map[string]gossh.PublicKey{
		servers[0].Addr: servers[0].HostKey,
		servers[1].Addr: servers[1].HostKey,
	})
}

func TestChangedHostKeyRefused(t *testing.T) {
	srv := sshtest.Start(t)
	cfg := config(srv)
	cfg.AcceptNewHostKeys = true // must not matter for a changed key
	other := newPublicKey(t)
	line := knownhosts.Line([]string{knownhosts.Normalize(srv.Addr)}, other) + "\n"
	if err := os.WriteFile(cfg.KnownHostsFile, []byte(line), 0o600); err != nil {
		t.Fatal(err)
	}

	_, err := ssh.Dial(context.Background(), cfg)
	assertHostKeyError(t, err, ssh.HostKeyChanged, srv.HostKeyFingerprint)
	for _, want := range []string{"node1", "CHANGED", srv.HostKeyFingerprint} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if got, _ := os.ReadFile(cfg.KnownHostsFile); string(got) != line {
		t.Errorf("known_hosts changed to %q", got)
	}
}

// TestHostKeyAlgorithmFromKnownHosts uses a server with an ECDSA and an ed25519 key, which
// x/crypto would ask for ECDSA first: the key type known_hosts lists must be asked for.
func TestHostKeyAlgorithmFromKnownHosts(t *testing.T) {
	srv := sshtest.Start(t, sshtest.WithECDSAHostKey())
	for name, key := range map[string]gossh.PublicKey{"ed25519": srv.HostKey, "ecdsa": srv.ECDSAHostKey} {
		t.Run(name, func(t *testing.T) {
			cfg := config(srv)
			cfg.KnownHostsFile = filepath.Join(t.TempDir(), "known_hosts")
			line := knownhosts.Line([]string{knownhosts.Normalize(srv.Addr)}, key) + "\n"
			if err := os.WriteFile(cfg.KnownHostsFile, []byte(line), 0o600); err != nil {
				t.Fatal(err)
			}
			c := dial(t, cfg)
			if want := gossh.FingerprintSHA256(key); c.HostKeyFingerprint() != want {
				t.Errorf("host presented %s, want %s", c.HostKeyFingerprint(), want)
			}
		})
	}
}

func TestAuthRejected(t *testing.T) {
	srv := sshtest.Start(t)
	cfg := config(srv)
	cfg.KeyFiles = []string{writeClientKey(t)}
	_, err := ssh.Dial(context.Background(), cfg)
	var authErr *ssh.AuthError
	if !errors.As(err, &authErr) || !authErr.Rejected {
		t.Fatalf("Dial with an unknown key: %v, want a rejected *AuthError", err)
	}
	for _, want := range []string{"rejected", srv.User, cfg.KeyFiles[0]} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func TestNoUsableKey(t *testing.T) {
	srv := sshtest.Start(t)
	cfg := config(srv)
	cfg.KeyFiles = []string{filepath.Join(t.TempDir(), "missing_key")}
	cfg.UseAgent = true
	t.Setenv("SSH_AUTH_SOCK", "")
	_, err := ssh.Dial(context.Background(), cfg)
	var authErr *ssh.AuthError
	if !errors.As(err, &authErr) || authErr.Rejected {
		t.Fatalf("Dial without keys: %v, want an *AuthError for no usable key", err)
	}
	for _, want := range []string{"no usable SSH key", cfg.KeyFiles[0], "SSH_AUTH_SOCK"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func TestAgent(t *testing.T) {
	srv := sshtest.Start(t)
	keyring := agent.NewKeyring()
	raw, err := os.ReadFile(srv.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	key, err := gossh.ParseRawPrivateKey(raw)
	if err != nil {
		t.Fatal(err)
	}
	if err := keyring.Add(agent.AddedKey{PrivateKey: key}); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SSH_AUTH_SOCK", serveAgent(t, keyring))

	cfg := config(srv)
	cfg.KeyFiles = nil
	cfg.UseAgent = true
	c := dial(t, cfg)
	if res, err := c.Run(context.Background(), connection.Cmd{Command: "echo agent"}); err != nil ||
		string(res.Stdout) != "agent\n" {
		t.Errorf("Run: %q, %v", res.Stdout, err)
	}
}

func TestReadFile(t *testing.T) {
	c := dial(t, config(sshtest.Start(t)))
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	if err := os.WriteFile(path, []byte("0123456789"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	if data, err := c.ReadFile(ctx, path, 10); err != nil || string(data) != "0123456789" {
		t.Errorf("ReadFile at limit = %q, %v", data, err)
	}
	if _, err := c.ReadFile(ctx, path, 9); !errors.Is(err, connection.ErrTooLarge) {
		t.Errorf("ReadFile over limit: %v, want ErrTooLarge", err)
	}
	_, err := c.ReadFile(ctx, filepath.Join(dir, "missing"), 10)
	if !errors.Is(err, fs.ErrNotExist) || connection.IsUnreachable(err) {
		t.Errorf("ReadFile of a missing file: %v, want fs.ErrNotExist", err)
	}
	big := randomBytes(t, 3<<20)
	if err := os.WriteFile(path, big, 0o644); err != nil {
		t.Fatal(err)
	}
	if data, err := c.ReadFile(ctx, path, 4<<20); err != nil || !bytes.Equal(data, big) {
		t.Errorf("ReadFile of 3 MiB: %d bytes, %v", len(data), err)
	}
}

func TestWriteFile(t *testing.T) {
	c := dial(t, config(sshtest.Start(t)))
	dir := t.TempDir()
	path := filepath.Join(dir, "out")
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	want := randomBytes(t, 16<<20)
	src := &stageInspector{t: t, dir: dir, r: bytes.NewReader(want)}

	if err := c.WriteFile(context.Background(), path, src, 0o640); err != nil {
		t.Fatalf("WriteFile: %v", err)
	}
	if !src.inspected {
		t.Error("the staging directory was never seen")
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

// TestWriteFileAtomic rewrites a file with alternating contents while reading it: every read
// must see one whole version.
func TestWriteFileAtomic(t *testing.T) {
	c := dial(t, config(sshtest.Start(t)))
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	versions := [][]byte{bytes.Repeat([]byte("a"), 4<<20), bytes.Repeat([]byte("b"), 4<<20)}
	if err := os.WriteFile(path, versions[0], 0o644); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	readerDone := make(chan int)
	go func() {
		reads := 0
		defer func() { readerDone <- reads }()
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
	for i := range 10 {
		if err := c.WriteFile(context.Background(), path, bytes.NewReader(versions[i%2]), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	if reads := <-readerDone; reads == 0 {
		t.Error("reader never ran")
	}
	assertOnly(t, dir, "f")
}

func TestWriteFileFailureKeepsOldContent(t *testing.T) {
	c := dial(t, config(sshtest.Start(t)))
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
		want error
	}{
		{"reader error", context.Background(), io.MultiReader(bytes.NewReader(randomBytes(t, 1<<20)), errReader{}), errBroken},
		{"cancelled", ctx, &cancelAfterFirstRead{cancel: cancel}, context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := c.WriteFile(tt.ctx, path, tt.r, 0o644)
			if !errors.Is(err, tt.want) || connection.IsUnreachable(err) {
				t.Fatalf("WriteFile: %v, want %v", err, tt.want)
			}
			if got, _ := os.ReadFile(path); string(got) != "old" {
				t.Errorf("content = %q, want the old one", got)
			}
			assertOnly(t, dir, "out")
		})
	}

	err := c.WriteFile(context.Background(), filepath.Join(dir, "no", "dir"), strings.NewReader("x"), 0o644)
	if err == nil || connection.IsUnreachable(err) {
		t.Errorf("WriteFile into a missing directory: %v, want a plain error", err)
	}
}

func TestClosedConn(t *testing.T) {
	c := dial(t, config(sshtest.Start(t)))
	if err := c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	_, err := c.Run(context.Background(), connection.Cmd{Command: "true"})
	if err == nil || connection.IsUnreachable(err) {
		t.Errorf("Run after Close: %v, want a plain error", err)
	}
	if err := c.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// TestConnectTimeoutCoversHandshake dials a port that accepts TCP but never speaks SSH:
// only a deadline on the handshake ends the dial.
func TestConnectTimeoutCoversHandshake(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		var held []net.Conn // held open and silent until the listener closes
		defer func() {
			for _, conn := range held {
				conn.Close()
			}
		}()
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			held = append(held, conn)
		}
	}()
	done := make(chan error, 1)
	go func() {
		_, err := ssh.Dial(context.Background(), ssh.Config{
			Host: "silent", Address: "127.0.0.1", Port: l.Addr().(*net.TCPAddr).Port, User: "root",
			KeyFiles: []string{writeClientKey(t)}, KnownHostsFile: filepath.Join(t.TempDir(), "kh"),
			ConnectTimeout: 200 * time.Millisecond,
		})
		done <- err
	}()
	select {
	case err := <-done:
		assertUnreachable(t, "Dial", err)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Dial: %v, want a deadline error", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Dial to a silent server did not time out")
	}
}

// TestKeepAlive checks that OpenSSH's answer to keepalive requests, a failure reply, keeps
// the connection open: a keepalive loop that took it for a dead host would close it.
func TestKeepAlive(t *testing.T) {
	cfg := config(sshtest.Start(t))
	// Several keepalives per command, with room for a loaded machine (three missed in a
	// row close the connection): 10ms intervals failed under the race detector in CI.
	cfg.KeepAlive = 100 * time.Millisecond
	c := dial(t, cfg)
	for range 3 {
		res, err := c.Run(context.Background(), connection.Cmd{Command: "sleep 0.5; echo alive"})
		if err != nil || string(res.Stdout) != "alive\n" {
			t.Fatalf("Run with keepalives: %q, %v", res.Stdout, err)
		}
	}
}

// A host reached through a jump host rides on the jump host's connection: with the jump
// host gone, the host is lost too. Both host keys are checked.
func TestJumpHost(t *testing.T) {
	bastion := sshtest.Start(t)
	target := sshtest.Start(t)
	jump := config(bastion)
	jump.Host = "bastion"
	cfg := config(target)
	cfg.Jump = &jump
	c := dial(t, cfg)
	res, err := c.Run(context.Background(), connection.Cmd{Command: "echo through"})
	if err != nil || string(res.Stdout) != "through\n" {
		t.Fatalf("Run through the jump host: %q, %v", res.Stdout, err)
	}

	unknown := config(bastion)
	unknown.Host = "bastion"
	unknown.KnownHostsFile = filepath.Join(t.TempDir(), "empty")
	refused := cfg
	refused.Jump = &unknown
	_, err = ssh.Dial(context.Background(), refused)
	var hk *ssh.HostKeyError
	if !errors.As(err, &hk) || hk.Host != "bastion" || !strings.Contains(err.Error(), "jump host bastion") {
		t.Errorf("a jump host with an unknown key: %v, want its host key refused", err)
	}

	bastion.Stop()
	if _, err := c.Run(context.Background(), connection.Cmd{Command: "true"}); !connection.IsUnreachable(err) {
		t.Errorf("with the jump host stopped, Run said %v; want the host unreachable", err)
	}
}
