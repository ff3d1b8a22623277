// Package ssh reaches remote hosts over SSH: it implements connection.Conn with one SSH client
// per host, a session per command and one SFTP session per host for file transfers.
//
// It owns the transport's safety: host keys are checked against known_hosts, never ignored,
// and authentication uses key files and ssh-agent only. It leaves privilege changes, retries,
// timeouts of commands and redaction to the runner. Connections are made with goph's client
// on golang.org/x/crypto/ssh; the dial, the host key check and SFTP use x/crypto and
// pkg/sftp directly, because goph's dial ignores contexts and its host key helpers have no
// place for a per-run policy.
package ssh

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/melbahja/goph"
	"github.com/pkg/sftp"
	gossh "golang.org/x/crypto/ssh"

	"github.com/kplay-dev/kplay/engine/connection"
)

// DefaultConnectTimeout bounds the TCP connect and SSH handshake when Config leaves it zero.
const DefaultConnectTimeout = 20 * time.Second

// keepAliveMisses is how many keepalive intervals pass without an answer before the
// connection is declared lost.
const keepAliveMisses = 3

// Config says how to reach one host.
type Config struct {
	Host    string // the inventory name, used in messages; defaults to Address
	Address string // host name or IP address to dial
	Port    int    // defaults to 22
	User    string

	KeyFiles []string // private key files, unencrypted; encrypted keys belong in ssh-agent
	UseAgent bool     // also offer the keys of the ssh-agent at $SSH_AUTH_SOCK

	// KnownHostsFile holds the host keys kplay trusts; defaults to ~/.ssh/known_hosts.
	// A missing file is treated as empty.
	KnownHostsFile string
	// AcceptNewHostKeys records the key of a host that known_hosts does not list yet
	// instead of refusing it. A host whose key differs from a recorded one is always
	// refused.
	AcceptNewHostKeys bool

	// ConnectTimeout bounds the TCP connect and the SSH handshake together; defaults to
	// DefaultConnectTimeout.
	ConnectTimeout time.Duration
	// KeepAlive, when positive, sends a keepalive request at this interval; a connection
	// that leaves one unanswered for three intervals is closed as lost.
	KeepAlive time.Duration

	// Jump, when set, is a bastion to reach the host through, as ssh's ProxyJump: kplay
	// logs in to it (checking its host key too) and opens a TCP channel to the host.
	Jump *Config
}

func (cfg Config) withDefaults() (Config, error) {
	if cfg.Address == "" {
		return cfg, errors.New("no address to connect to")
	}
	if cfg.Host == "" {
		cfg.Host = cfg.Address
	}
	if cfg.Port == 0 {
		cfg.Port = 22
	}
	if cfg.ConnectTimeout <= 0 {
		cfg.ConnectTimeout = DefaultConnectTimeout
	}
	if cfg.KnownHostsFile == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return cfg, fmt.Errorf("find known_hosts: %w", err)
		}
		cfg.KnownHostsFile = filepath.Join(home, ".ssh", "known_hosts")
	}
	return cfg, nil
}

func (cfg Config) addr() string { return net.JoinHostPort(cfg.Address, strconv.Itoa(cfg.Port)) }

// Conn is an open SSH connection to one host. It is safe for concurrent use.
type Conn struct {
	cfg     Config
	client  *goph.Client
	hostKey gossh.PublicKey

	closeOnce sync.Once
	closed    chan struct{}         // closed by Close
	lost      chan struct{}         // closed when the transport ends, for any reason
	lostErr   error                 // why, readable once lost is closed
	keepAlive atomic.Pointer[error] // why the keepalive loop gave up on the host

	sftpMu sync.Mutex
	sftp   *sftp.Client

	// jump is the bastion's connection, closed with this one.
	jump *Conn
}

var _ connection.Conn = (*Conn)(nil)

// Dial connects and logs in to a host. Every error it returns is a
// *connection.UnreachableError; a refused host key wraps a *HostKeyError and a failed login
// an *AuthError, for errors.As.
func Dial(ctx context.Context, cfg Config) (*Conn, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, &connection.UnreachableError{Host: cfg.Host, Err: err}
	}
	c, err := dial(ctx, cfg)
	if err != nil {
		return nil, &connection.UnreachableError{Host: cfg.Host, Err: err}
	}
	return c, nil
}

func dial(ctx context.Context, cfg Config) (*Conn, error) {
	auth, err := newAuth(cfg)
	if err != nil {
		return nil, err
	}
	hostKeys := newHostKeyChecker(cfg)
	clientCfg := &gossh.ClientConfig{
		User:              cfg.User,
		Auth:              auth.methods,
		HostKeyCallback:   hostKeys.check,
		HostKeyAlgorithms: hostKeys.algorithms(cfg.addr()),
		Timeout:           cfg.ConnectTimeout,
	}
	var jump *Conn
	if cfg.Jump != nil {
		jcfg, err := cfg.Jump.withDefaults()
		if err == nil {
			jump, err = dial(ctx, jcfg)
		}
		if err != nil {
			auth.close()
			return nil, fmt.Errorf("jump host %s: %w", cfg.Jump.Host, err)
		}
	}
	client, err := handshake(ctx, cfg, clientCfg, jump)
	auth.close() // the agent is needed only to log in
	if err != nil {
		if jump != nil {
			jump.Close()
		}
		return nil, explainDialError(cfg, err, hostKeys, auth)
	}
	c := &Conn{
		jump:    jump,
		cfg:     cfg,
		client:  &goph.Client{Client: client, Config: gophConfig(cfg, clientCfg)},
		hostKey: hostKeys.accepted,
		closed:  make(chan struct{}),
		lost:    make(chan struct{}),
	}
	go c.watch()
	if cfg.KeepAlive > 0 {
		go c.keepAliveLoop(cfg.KeepAlive)
	}
	slog.Debug("ssh connected", "host", cfg.Host, "addr", cfg.addr(),
		"host_key", c.HostKeyFingerprint())
	return c, nil
}

// handshake dials and runs the SSH handshake under one deadline. x/crypto's handshake takes
// no context, so the deadline is set on the socket and a cancelled context moves it to now.
func handshake(ctx context.Context, cfg Config, clientCfg *gossh.ClientConfig, jump *Conn) (*gossh.Client, error) {
	ctx, cancel := context.WithTimeout(ctx, cfg.ConnectTimeout)
	defer cancel()
	var nc net.Conn
	var err error
	if jump != nil {
		nc, err = jump.client.DialContext(ctx, "tcp", cfg.addr())
	} else {
		var d net.Dialer
		nc, err = d.DialContext(ctx, "tcp", cfg.addr())
	}
	if err != nil {
		return nil, err
	}
	deadline, _ := ctx.Deadline()
	_ = nc.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() {
		_ = nc.SetDeadline(time.Now())
		if jump != nil {
			nc.Close() // a channel through a jump host has no deadlines
		}
	})

	sc, chans, reqs, err := gossh.NewClientConn(nc, cfg.addr(), clientCfg)
	if !stop() && err == nil {
		sc.Close()
		err = ctx.Err()
	}
	if err != nil {
		nc.Close()
		switch {
		case ctx.Err() != nil:
			return nil, fmt.Errorf("%w (%w)", context.Cause(ctx), err)
		case errors.Is(err, os.ErrDeadlineExceeded):
			// The socket's deadline is the context's; it can fire a moment before the
			// context's own timer.
			return nil, fmt.Errorf("%w (%w)", context.DeadlineExceeded, err)
		}
		return nil, err
	}
	_ = nc.SetDeadline(time.Time{})
	return gossh.NewClient(sc, chans, reqs), nil
}

// gophConfig records how the goph client was made, for code that inspects it.
func gophConfig(cfg Config, clientCfg *gossh.ClientConfig) *goph.Config {
	return &goph.Config{
		Auth:     clientCfg.Auth,
		User:     cfg.User,
		Addr:     cfg.Address,
		Port:     uint(cfg.Port),
		Timeout:  cfg.ConnectTimeout,
		Callback: clientCfg.HostKeyCallback,
	}
}

// explainDialError replaces x/crypto's handshake errors with the typed errors users can act
// on.
func explainDialError(cfg Config, err error, hostKeys *hostKeyChecker, a *auth) error {
	if hostKeys.refusal != nil {
		return hostKeys.refusal
	}
	if isAuthFailure(err) {
		return &AuthError{Host: cfg.Host, User: cfg.User, Rejected: true, Sources: a.sources}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("connect to %s: no answer within %v: %w", cfg.addr(), cfg.ConnectTimeout, err)
	}
	return fmt.Errorf("connect to %s: %w", cfg.addr(), err)
}

// HostKeyFingerprint returns the SHA256 fingerprint of the key the host presented, as
// ssh-keygen -l prints it.
// LoginUser is the user the connection logged in as, wherever the setting came from.
func (c *Conn) LoginUser() string { return c.cfg.User }

func (c *Conn) HostKeyFingerprint() string {
	if c.hostKey == nil {
		return ""
	}
	return gossh.FingerprintSHA256(c.hostKey)
}

// Close closes the connection; calls in flight fail.
func (c *Conn) Close() error {
	var err error
	c.closeOnce.Do(func() {
		close(c.closed)
		c.sftpMu.Lock()
		if c.sftp != nil {
			c.sftp.Close()
		}
		c.sftpMu.Unlock()
		err = c.client.Close()
		if c.jump != nil {
			c.jump.Close()
		}
	})
	if errors.Is(err, net.ErrClosed) {
		return nil // already lost
	}
	return err
}

// watch records the end of the transport, so that errors of calls in flight can say the
// host was lost.
func (c *Conn) watch() {
	err := c.client.Wait()
	if err == nil {
		err = errors.New("connection closed by the host")
	}
	c.lostErr = err
	close(c.lost)
}

// keepAliveLoop pings the host so a dead peer or a dropped NAT entry is noticed even when no
// command is running; without an answer, it closes the client, which fails calls in flight.
func (c *Conn) keepAliveLoop(interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-c.closed:
			return
		case <-c.lost:
			return
		case <-t.C:
		}
		if err := c.ping(interval * keepAliveMisses); err != nil {
			c.keepAlive.Store(&err)
			slog.Debug("ssh keepalive failed", "host", c.cfg.Host, "err", err)
			c.client.Close()
			return
		}
	}
}

func (c *Conn) ping(wait time.Duration) error {
	reply := make(chan error, 1)
	go func() {
		// OpenSSH answers this unknown request with a failure, which proves it alive.
		_, _, err := c.client.SendRequest("keepalive@openssh.com", true, nil)
		reply <- err
	}()
	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case err := <-reply:
		return err
	case <-timer.C:
		return fmt.Errorf("no keepalive answer within %v", wait)
	case <-c.closed:
		return nil
	}
}

// unreachable reports an operation whose outcome the transport left unknown. A connection
// closed by Close is not a lost host, so that case stays a plain error.
func (c *Conn) unreachable(op string, err error) error {
	// Closed first: after Close both channels are ready, and select would pick either.
	select {
	case <-c.closed:
		return fmt.Errorf("%s: connection to %s is closed: %w", op, c.cfg.Host, err)
	default:
	}
	select {
	case <-c.lost:
		err = c.lostErr
		if ka := c.keepAlive.Load(); ka != nil {
			err = *ka
		}
		err = fmt.Errorf("connection lost: %w", err)
	default:
	}
	return &connection.UnreachableError{Host: c.cfg.Host, Err: fmt.Errorf("%s: %w", op, err)}
}
