package ssh

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
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

// Run runs cmd in a new session. When ctx ends, the command is sent SIGKILL and its session
// closed; Run then returns the context's error. Like os/exec, Run waits for the copy of
// Stdin to end, which it does at EOF or once the command has exited.
func (c *Conn) Run(ctx context.Context, cmd connection.Cmd) (connection.Result, error) {
	sess, err := c.openSession(ctx)
	if err != nil {
		return connection.Result{}, err
	}
	defer sess.Close()

	var stdout, stderr bytes.Buffer
	sess.Stdout = &stdout
	sess.Stderr = &stderr
	copyStdin, err := stdinCopier(sess, cmd.Stdin)
	if err != nil {
		return connection.Result{}, c.unreachable("run", err)
	}
	if err := sess.Start(cmd.Command); err != nil {
		return connection.Result{}, c.unreachable("run", err)
	}
	stdinDone := copyStdin()

	waitErr := make(chan error, 1)
	go func() { waitErr <- sess.Wait() }()
	select {
	case err = <-waitErr:
	case <-ctx.Done():
		// The signal request needs OpenSSH 7.9 or later; closing the channel covers older
		// servers, where the command then dies only when it next writes output.
		_ = sess.Signal(gossh.SIGKILL)
		sess.Close()
		<-waitErr
		return connection.Result{}, fmt.Errorf("run: %w", context.Cause(ctx))
	}
	<-stdinDone

	res := connection.Result{Stdout: stdout.Bytes(), Stderr: stderr.Bytes()}
	var exitErr *gossh.ExitError
	switch {
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
