package ssh

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path"

	"github.com/pkg/sftp"
	gossh "golang.org/x/crypto/ssh"

	"github.com/kplay-dev/kplay/engine/connection"
)

// sftpClient returns the connection's SFTP client, opening it on first use. A client whose
// subsystem has ended is replaced on the next call.
func (c *Conn) sftpClient(ctx context.Context) (*sftp.Client, error) {
	c.sftpMu.Lock()
	defer c.sftpMu.Unlock()
	if c.sftp != nil {
		return c.sftp, nil
	}
	sess, err := c.openSession(ctx)
	if err != nil {
		return nil, err
	}
	client, err := startSFTP(sess)
	if err != nil {
		sess.Close()
		return nil, c.unreachable("start sftp", err)
	}
	c.sftp = client
	go c.forgetSFTP(sess, client)
	return client, nil
}

func startSFTP(sess *gossh.Session) (*sftp.Client, error) {
	w, err := sess.StdinPipe()
	if err != nil {
		return nil, err
	}
	r, err := sess.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := sess.RequestSubsystem("sftp"); err != nil {
		return nil, err
	}
	// Concurrent writes send a large file as many requests in flight instead of one at
	// a time, which is what makes uploads of hundreds of megabytes fast.
	return sftp.NewClientPipe(r, w, sftp.UseConcurrentWrites(true), sftp.UseConcurrentReads(true))
}

func (c *Conn) forgetSFTP(sess *gossh.Session, client *sftp.Client) {
	_ = client.Wait()
	c.sftpMu.Lock()
	if c.sftp == client {
		c.sftp = nil
	}
	c.sftpMu.Unlock()
	sess.Close()
}

// ReadFile reads path over SFTP, refusing files larger than max bytes.
func (c *Conn) ReadFile(ctx context.Context, name string, max int64) ([]byte, error) {
	sc, err := c.sftpClient(ctx)
	if err != nil {
		return nil, err
	}
	f, err := sc.Open(name)
	if err != nil {
		return nil, c.fileError("read", name, err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, c.fileError("read", name, err)
	}
	if info.Size() > max {
		return nil, &fs.PathError{Op: "read", Path: name, Err: connection.ErrTooLarge}
	}
	// A buffer sized to the file lets the first read fetch it with concurrent requests; the
	// extra byte notices a file that grew past max since Stat.
	buf := bytes.NewBuffer(make([]byte, 0, info.Size()+1))
	if _, err := buf.ReadFrom(&ctxReader{ctx: ctx, r: io.LimitReader(f, max+1)}); err != nil {
		return nil, c.fileError("read", name, err)
	}
	if int64(buf.Len()) > max {
		return nil, &fs.PathError{Op: "read", Path: name, Err: connection.ErrTooLarge}
	}
	return buf.Bytes(), nil
}

// WriteFile uploads r to path atomically. The data goes to a file inside a new directory
// beside path, made private (0700) before anything is written, so no other user can open
// the file while it is incomplete or before it gets its mode; the file is then synced when
// the server supports fsync@openssh.com and renamed over path with posix-rename@openssh.com.
// The staging directory is removed whatever happens.
func (c *Conn) WriteFile(ctx context.Context, name string, r io.Reader, mode fs.FileMode) error {
	sc, err := c.sftpClient(ctx)
	if err != nil {
		return err
	}
	stage, err := makeStage(sc, path.Dir(name))
	if err != nil {
		return c.fileError("write", name, err)
	}
	tmp := path.Join(stage, path.Base(name))
	defer func() {
		_ = sc.Remove(tmp) // already renamed away on success
		_ = sc.RemoveDirectory(stage)
	}()
	if err := upload(ctx, sc, tmp, r, mode); err != nil {
		return c.fileError("write", name, err)
	}
	if err := sc.PosixRename(tmp, name); err != nil {
		return c.fileError("write", name, err)
	}
	return nil
}

// makeStage creates the private staging directory in dir.
func makeStage(sc *sftp.Client, dir string) (string, error) {
	stage := path.Join(dir, connection.StageName())
	if err := sc.Mkdir(stage); err != nil {
		return "", err
	}
	if err := sc.Chmod(stage, 0o700); err != nil {
		_ = sc.RemoveDirectory(stage)
		return "", err
	}
	return stage, nil
}

func upload(ctx context.Context, sc *sftp.Client, tmp string, r io.Reader, mode fs.FileMode) error {
	f, err := sc.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL)
	if err != nil {
		return err
	}
	// ReadFrom would fall back to one request at a time for a reader of unknown size, such
	// as the context wrapper; a concurrency of 0 means the client's maximum.
	_, err = f.ReadFromWithConcurrency(&ctxReader{ctx: ctx, r: r, local: true}, 0)
	if err == nil {
		err = f.Chmod(mode)
	}
	if _, ok := sc.HasExtension("fsync@openssh.com"); ok && err == nil {
		err = f.Sync()
	}
	if closeErr := f.Close(); err == nil {
		err = closeErr
	}
	return err
}

// fileError reports a failed file operation: as a path error when the server answered or
// the caller's data failed, as unreachable when the transport did.
func (c *Conn) fileError(op, name string, err error) error {
	var status *sftp.StatusError
	var local *localError
	switch {
	case errors.As(err, &local), errors.As(err, &status),
		errors.Is(err, fs.ErrNotExist), errors.Is(err, fs.ErrPermission):
		return &fs.PathError{Op: op, Path: name, Err: err}
	default:
		return c.unreachable(op+" "+name, err)
	}
}

// localError marks a failure on kplay's side of a transfer (the caller's reader or the
// context), which says nothing about the host.
type localError struct{ err error }

func (e *localError) Error() string { return e.err.Error() }
func (e *localError) Unwrap() error { return e.err }

// ctxReader stops a transfer between two reads once its context has ended. With local set,
// errors of the reader it wraps are marked as kplay's own.
type ctxReader struct {
	ctx   context.Context
	r     io.Reader
	local bool
}

func (r *ctxReader) Read(p []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, &localError{context.Cause(r.ctx)}
	}
	n, err := r.r.Read(p)
	if r.local && err != nil && err != io.EOF {
		err = &localError{err}
	}
	return n, err
}
