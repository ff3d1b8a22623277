package ssh_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/kplay-dev/kplay/engine/connection"
	"github.com/kplay-dev/kplay/engine/connection/ssh"
)

func assertUnreachable(t *testing.T, op string, err error) {
	t.Helper()
	if !connection.IsUnreachable(err) {
		t.Errorf("%s: %v, want an *UnreachableError", op, err)
	}
}

func assertHostKeyError(t *testing.T, err error, kind, fingerprint string) *ssh.HostKeyError {
	t.Helper()
	var hkErr *ssh.HostKeyError
	if !errors.As(err, &hkErr) {
		t.Fatalf("Dial: %v, want a *HostKeyError", err)
	}
	if hkErr.Kind != kind || hkErr.Fingerprint != fingerprint || hkErr.Host != "node1" {
		t.Errorf("HostKeyError = %+v, want kind %s, fingerprint %s", hkErr, kind, fingerprint)
	}
	if !connection.IsUnreachable(err) {
		t.Errorf("a refused host key is not reported as unreachable: %v", err)
	}
	return hkErr
}

// assertKnownHosts checks that file lists exactly the given keys, one line each.
func assertKnownHosts(t *testing.T, file string, want map[string]gossh.PublicKey) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) != len(want) {
		t.Errorf("known_hosts has %d lines, want %d:\n%s", len(lines), len(want), data)
	}
	db, err := knownhosts.New(file)
	if err != nil {
		t.Fatal(err)
	}
	for addr, key := range want {
		if err := db(addr, &net.TCPAddr{}, key); err != nil {
			t.Errorf("known_hosts does not accept the key of %s: %v", addr, err)
		}
	}
}

// stageInspector checks, when WriteFile first reads the data, that the file is being staged
// in a directory no one else can enter.
type stageInspector struct {
	t         *testing.T
	dir       string
	r         io.Reader
	inspected bool
}

func (s *stageInspector) Read(p []byte) (int, error) {
	if !s.inspected {
		s.inspected = true
		stages, _ := filepath.Glob(filepath.Join(s.dir, ".kplay-tmp-*"))
		if len(stages) != 1 {
			s.t.Errorf("staging directories = %v, want one", stages)
		} else if info, err := os.Stat(stages[0]); err != nil || info.Mode().Perm() != 0o700 {
			s.t.Errorf("staging directory %s: %v, %v; want mode 0700", stages[0], info.Mode(), err)
		}
	}
	return s.r.Read(p)
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

func mkfifo(t *testing.T) string {
	t.Helper()
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	return fifo
}

// readPID blocks until the remote command has written its PID to the FIFO, which tells the
// test the command is running.
func readPID(t *testing.T, fifo string) int {
	t.Helper()
	data, err := os.ReadFile(fifo)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		t.Fatalf("pid %q: %v", data, err)
	}
	return pid
}

// waitGone waits until pid has died; an unreaped zombie counts as dead.
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
	t.Fatalf("remote process %d survived the cancellation", pid)
}

func isZombie(stat []byte) bool {
	i := bytes.LastIndexByte(stat, ')')
	return i >= 0 && len(stat) > i+2 && stat[i+2] == 'Z'
}

// writeClientKey writes a fresh private key no server accepts.
func writeClientKey(t *testing.T) string {
	t.Helper()
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := gossh.MarshalPrivateKey(key, "")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "id_other")
	if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func newPublicKey(t *testing.T) gossh.PublicKey {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	key, err := gossh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

func randomBytes(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// serveAgent serves keyring on a Unix socket until the test ends.
func serveAgent(t *testing.T, keyring agent.Agent) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "agent.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				_ = agent.ServeAgent(keyring, conn)
			}()
		}
	}()
	return sock
}

var errBroken = errors.New("broken source")

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errBroken }

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
