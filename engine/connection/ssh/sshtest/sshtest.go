// Package sshtest starts a real OpenSSH server on the loopback interface for tests.
//
// Each Server is a private sshd (/usr/sbin/sshd) with its own host keys, client key,
// authorized_keys and known_hosts file in a temporary directory, running as a child of the
// test and killed when the test ends. Tests that need SSH skip when sshd is not installed.
// Stop kills the server with its connections and the commands they run, which is how tests
// simulate a host that goes away.
package sshtest

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// SSHD is the server binary the package runs.
const SSHD = "/usr/sbin/sshd"

// SFTPServer is the subsystem binary for SFTP.
const SFTPServer = "/usr/lib/openssh/sftp-server"

// Server is a running sshd.
type Server struct {
	Addr string // "127.0.0.1:port"
	Host string // "127.0.0.1"
	Port int
	User string // the user running the test, whose key the server accepts

	KeyFile    string // the client's private key (ed25519, unencrypted)
	KnownHosts string // a known_hosts file holding the server's ed25519 key
	Dir        string // the server's private directory

	HostKey            gossh.PublicKey // the server's ed25519 host key
	HostKeyFingerprint string          // its SHA256 fingerprint
	// ECDSAHostKey is the server's second host key, set only with WithECDSAHostKey.
	ECDSAHostKey gossh.PublicKey

	maxSessions int
	cmd         *exec.Cmd
	stopOnce    sync.Once
	exited      chan struct{} // closed once sshd has been reaped
	logMu       sync.Mutex
	log         strings.Builder
}

// Option changes how Start sets up the server.
type Option func(*setup)

type setup struct {
	ecdsa       bool
	maxSessions int
}

// WithECDSAHostKey gives the server an ECDSA host key besides the ed25519 one. Clients that
// do not negotiate host key algorithms from known_hosts pick ECDSA first.
func WithECDSAHostKey() Option { return func(s *setup) { s.ecdsa = true } }

// WithMaxSessions sets how many sessions (commands, SFTP) one connection may have open at
// once; the default is 64.
func WithMaxSessions(n int) Option { return func(s *setup) { s.maxSessions = n } }

// Start runs a new sshd and stops it when the test ends. It skips the test when sshd is not
// installed and fails it when the server cannot be started.
func Start(t testing.TB, opts ...Option) *Server {
	t.Helper()
	if _, err := os.Stat(SSHD); err != nil {
		t.Skipf("sshtest: %s not installed: %v", SSHD, err)
	}
	var st setup
	for _, o := range opts {
		o(&st)
	}
	s, err := newServer(t.TempDir(), st)
	if err != nil {
		t.Fatalf("sshtest: %v", err)
	}
	// The port is picked before sshd binds it; another process may take it in between.
	for attempt := 0; ; attempt++ {
		err = s.start()
		if err == nil || attempt == 3 {
			break
		}
	}
	if err != nil {
		t.Fatalf("sshtest: %v", err)
	}
	t.Cleanup(func() {
		s.Stop()
		if t.Failed() {
			t.Logf("sshd log:\n%s", s.Log())
		}
	})
	return s
}

func newServer(dir string, st setup) (*Server, error) {
	u, err := user.Current()
	if err != nil {
		return nil, err
	}
	if st.maxSessions == 0 {
		st.maxSessions = 64
	}
	s := &Server{Host: "127.0.0.1", User: u.Username, Dir: dir, maxSessions: st.maxSessions}
	if s.HostKey, err = writeKey(filepath.Join(dir, "host_ed25519"), newEd25519()); err != nil {
		return nil, err
	}
	if st.ecdsa {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, err
		}
		if s.ECDSAHostKey, err = writeKey(filepath.Join(dir, "host_ecdsa"), key); err != nil {
			return nil, err
		}
	}
	s.HostKeyFingerprint = gossh.FingerprintSHA256(s.HostKey)
	s.KeyFile = filepath.Join(dir, "id_ed25519")
	clientKey, err := writeKey(s.KeyFile, newEd25519())
	if err != nil {
		return nil, err
	}
	authorized := gossh.MarshalAuthorizedKey(clientKey)
	if err := os.WriteFile(filepath.Join(dir, "authorized_keys"), authorized, 0o600); err != nil {
		return nil, err
	}
	s.KnownHosts = filepath.Join(dir, "known_hosts")
	return s, nil
}

func newEd25519() ed25519.PrivateKey {
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	return key
}

// writeKey saves a private key in OpenSSH format, mode 0600, and returns its public half.
func writeKey(path string, key any) (gossh.PublicKey, error) {
	block, err := gossh.MarshalPrivateKey(key, "")
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		return nil, err
	}
	signer, err := gossh.NewSignerFromKey(key)
	if err != nil {
		return nil, err
	}
	pub := signer.PublicKey()
	return pub, os.WriteFile(path+".pub", gossh.MarshalAuthorizedKey(pub), 0o644)
}

// start picks a port, writes the configuration and known_hosts for it, and runs sshd until
// it says it is listening.
func (s *Server) start() error {
	port, err := freePort()
	if err != nil {
		return err
	}
	s.Port = port
	s.Addr = net.JoinHostPort(s.Host, strconv.Itoa(port))
	line := knownhosts.Line([]string{knownhosts.Normalize(s.Addr)}, s.HostKey) + "\n"
	if err := os.WriteFile(s.KnownHosts, []byte(line), 0o600); err != nil {
		return err
	}
	cfg := filepath.Join(s.Dir, "sshd_config")
	if err := os.WriteFile(cfg, []byte(s.config()), 0o600); err != nil {
		return err
	}
	if err := ensurePrivsepDir(); err != nil {
		return err
	}
	return s.run(cfg)
}

func (s *Server) config() string {
	var b strings.Builder
	fmt.Fprintf(&b, "ListenAddress %s\nPort %d\n", s.Host, s.Port)
	fmt.Fprintf(&b, "HostKey %s\n", filepath.Join(s.Dir, "host_ed25519"))
	if s.ECDSAHostKey != nil {
		fmt.Fprintf(&b, "HostKey %s\n", filepath.Join(s.Dir, "host_ecdsa"))
	}
	fmt.Fprintf(&b, "AuthorizedKeysFile %s\n", filepath.Join(s.Dir, "authorized_keys"))
	fmt.Fprintf(&b, "PidFile %s\n", filepath.Join(s.Dir, "sshd.pid"))
	fmt.Fprintf(&b, "Subsystem sftp %s\n", SFTPServer)
	b.WriteString("StrictModes no\nUsePAM no\nPermitRootLogin prohibit-password\n" +
		"PasswordAuthentication no\nKbdInteractiveAuthentication no\n" +
		"MaxStartups 100\nLogLevel VERBOSE\n")
	fmt.Fprintf(&b, "MaxSessions %d\n", s.maxSessions)
	return b.String()
}

// ensurePrivsepDir creates the directory sshd chroots its unprivileged child into when it
// runs as root; Debian creates it at boot with systemd, which containers often lack.
func ensurePrivsepDir() error {
	if os.Geteuid() != 0 {
		return nil
	}
	return os.MkdirAll("/run/sshd", 0o755)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// run starts sshd in its own process group and waits for its "Server listening" line.
func (s *Server) run(cfg string) error {
	cmd := exec.Command(SSHD, "-D", "-e", "-f", cfg)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	ready := make(chan struct{})
	cmd.Stderr = &logWriter{server: s, ready: ready}
	// Commands started by clients outlive sshd and may keep its stderr open.
	cmd.WaitDelay = time.Second
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start sshd: %w", err)
	}
	s.cmd = cmd
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	s.exited = exited
	select {
	case <-ready:
		return nil
	case <-exited:
		return fmt.Errorf("sshd did not start:\n%s", s.Log())
	}
}

// logWriter keeps sshd's log for failed tests and notices when sshd is ready.
type logWriter struct {
	server *Server
	ready  chan struct{}
}

func (w *logWriter) Write(p []byte) (int, error) {
	s := w.server
	s.logMu.Lock()
	defer s.logMu.Unlock()
	s.log.Write(p)
	if w.ready != nil && strings.Contains(s.log.String(), "Server listening on") {
		close(w.ready)
		w.ready = nil
	}
	return len(p), nil
}

// Stop kills sshd and every process it started, including the commands clients are running,
// which drops every connection at once.
func (s *Server) Stop() {
	s.stopOnce.Do(func() {
		if s.cmd != nil {
			s.kill()
		}
	})
}

// kill kills sshd and every process below it. Each connection's sshd calls setsid, so a
// process group kill would leave connections open; the tree is read from /proc instead,
// before the kill reparents it.
func (s *Server) kill() {
	pid := s.cmd.Process.Pid
	_ = syscall.Kill(pid, syscall.SIGSTOP) // no new connections while the tree is read
	for _, child := range descendants(pid) {
		_ = syscall.Kill(child, syscall.SIGKILL)
	}
	_ = syscall.Kill(-pid, syscall.SIGKILL)
	<-s.exited
}

// descendants lists the processes below pid.
func descendants(pid int) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	children := make(map[int][]int)
	for _, e := range entries {
		child, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if parent, ok := parentPID(child); ok {
			children[parent] = append(children[parent], child)
		}
	}
	var all []int
	for queue := []int{pid}; len(queue) > 0; queue = queue[1:] {
		all = append(all, children[queue[0]]...)
		queue = append(queue, children[queue[0]]...)
	}
	return all
}

// parentPID reads the fourth field of /proc/PID/stat, after the command name in parentheses.
func parentPID(pid int) (int, bool) {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false
	}
	i := strings.LastIndexByte(string(stat), ')')
	fields := strings.Fields(string(stat[i+1:]))
	if i < 0 || len(fields) < 2 {
		return 0, false
	}
	parent, err := strconv.Atoi(fields[1])
	return parent, err == nil
}

// Log returns what sshd has logged so far.
func (s *Server) Log() string {
	s.logMu.Lock()
	defer s.logMu.Unlock()
	return s.log.String()
}
