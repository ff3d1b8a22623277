package ssh

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"github.com/kplay-dev/kplay/engine/connection"
)

// Limits of the wait for a session slot when the server's MaxSessions is reached.
const (
	sessionRetryFirst = 20 * time.Millisecond
	sessionRetryMax   = 500 * time.Millisecond
	sessionRetryFor   = 30 * time.Second
)

// killTimeout bounds each step of killing a cancelled command.
const killTimeout = 10 * time.Second

// Run runs cmd in a new session. When ctx ends, the command's process group is killed and
// its session closed; Run then returns the context's error. Like os/exec, Run waits for the
// copy of Stdin to end, which it does at EOF or once the command has exited.
func (c *Conn) Run(ctx context.Context, cmd connection.Cmd) (connection.Result, error) {
	sess, err := c.openSession(ctx)
	if err != nil {
		return connection.Result{}, err
	}
	defer sess.Close()

	stdout := newPIDWriter()
	var stderr bytes.Buffer
	sess.Stdout = stdout
	sess.Stderr = &stderr
	copyStdin, err := stdinCopier(sess, cmd.Stdin)
	if err != nil {
		return connection.Result{}, c.unreachable("run", err)
	}
	if err := sess.Start(wrapCommand(cmd.Command)); err != nil {
		return connection.Result{}, c.unreachable("run", err)
	}
	stdinDone := copyStdin()

	waitErr := make(chan error, 1)
	go func() { waitErr <- sess.Wait() }()
	select {
	case err = <-waitErr:
	case <-ctx.Done():
		c.kill(sess, stdout, waitErr)
		return connection.Result{}, fmt.Errorf("run: %w", context.Cause(ctx))
	}
	<-stdinDone

	res := connection.Result{Stdout: stdout.buf.Bytes(), Stderr: stderr.Bytes()}
	var exitErr *gossh.ExitError
	switch {
	case err == nil && stdout.pid() == 0:
		return res, c.unreachable("run", errors.New("the shell did not start"))
	case err == nil:
		return res, nil
	case errors.As(err, &exitErr):
		// x/crypto reports a command killed by a signal as 128 plus its number, like sh.
		res.ExitCode = exitErr.ExitStatus()
		return res, nil
	default:
		return res, c.unreachable("run", err)
	}
}

// wrapCommand runs command with /bin/sh whatever the user's login shell, after printing the
// shell's PID on the first line of stdout. sshd makes that shell a session leader, so the PID
// is also its process group, which kill needs.
func wrapCommand(command string) string {
	return "echo $$; exec /bin/sh -c " + shellQuote(command)
}

func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// kill stops a cancelled command. The "signal" channel request would be enough, but sshd
// refuses it for sessions without privilege separation, which includes every root login;
// so the process group is also killed from a second session.
func (c *Conn) kill(sess *gossh.Session, stdout *pidWriter, waitErr <-chan error) {
	_ = sess.Signal(gossh.SIGKILL)
	select {
	case <-stdout.ready: // nearly always at once: the PID is the shell's first output
	case <-waitErr:
		return
	case <-time.After(killTimeout):
	}
	if pid := stdout.pid(); pid > 0 {
		ctx, cancel := context.WithTimeout(context.Background(), killTimeout)
		defer cancel()
		group := strconv.Itoa(pid)
		_, err := c.Run(ctx, connection.Cmd{Command: "kill -KILL -" + group + " 2>/dev/null || kill -KILL " + group})
		if err != nil {
			slog.Debug("ssh kill of cancelled command failed", "host", c.cfg.Host, "pid", pid, "err", err)
		}
	}
	sess.Close()
}

// pidWriter takes the PID line wrapCommand prints off the command's stdout.
type pidWriter struct {
	buf    bytes.Buffer
	head   []byte
	value  atomic.Int64
	ready  chan struct{}
	inHead bool
}

func newPIDWriter() *pidWriter { return &pidWriter{ready: make(chan struct{}), inHead: true} }

func (w *pidWriter) Write(p []byte) (int, error) {
	n := len(p)
	if w.inHead {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			w.head = append(w.head, p...)
			return n, nil
		}
		w.head = append(w.head, p[:i]...)
		p = p[i+1:]
		w.inHead = false
		if pid, err := strconv.Atoi(string(w.head)); err == nil {
			w.value.Store(int64(pid))
		}
		close(w.ready)
	}
	w.buf.Write(p)
	return n, nil
}

func (w *pidWriter) pid() int { return int(w.value.Load()) }

// stdinCopier prepares to feed stdin to the session. The copy runs beside Wait rather than
// inside it: a command that exits without reading its input must not be reported as failed.
func stdinCopier(sess *gossh.Session, stdin io.Reader) (func() <-chan struct{}, error) {
	done := make(chan struct{})
	if stdin == nil {
		close(done)
		return func() <-chan struct{} { return done }, nil
	}
	pipe, err := sess.StdinPipe()
	if err != nil {
		return nil, err
	}
	return func() <-chan struct{} {
		go func() {
			defer close(done)
			_, _ = io.Copy(pipe, stdin)
			pipe.Close()
		}()
		return done
	}, nil
}

// openSession opens a channel for one command. A server at its MaxSessions limit refuses the
// channel; that is a reason to wait for a running command to finish, not a failure.
func (c *Conn) openSession(ctx context.Context) (*gossh.Session, error) {
	delay := sessionRetryFirst
	giveUp := time.Now().Add(sessionRetryFor)
	for {
		sess, err := c.client.NewSession()
		var openErr *gossh.OpenChannelError
		if err == nil || !errors.As(err, &openErr) || time.Now().After(giveUp) {
			if err != nil {
				return nil, c.unreachable("open session", err)
			}
			return sess, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("open session: %w", context.Cause(ctx))
		case <-c.closed:
			return nil, c.unreachable("open session", err)
		case <-time.After(delay):
		}
		delay = min(delay*2, sessionRetryMax)
	}
}
