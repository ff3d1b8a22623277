// Package connection defines how kplay reaches a host: run a command, read a file, write a file.
//
// A Conn moves bytes and runs commands, nothing more. Retries, become (sudo), timeouts, check
// mode and redaction are the runner's and the modules' business: they build the command line
// and decide what to do with the result. Implementations live in subpackages: ssh/ for remote
// hosts and local/ for the deploy host.
package connection

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
)

// Conn is one open connection to one host, reused for the whole run.
//
// Every method is safe for concurrent use: the runner may run several commands and transfers
// on one host at once. A method's context cancels the operation in flight; an SSH command whose
// context ends is signalled and its channel closed.
type Conn interface {
	// Run runs cmd through the host's POSIX shell (sh -c) and waits for it. A command that
	// ran and exited non-zero is not an error: its Result carries the exit status. The error
	// is for a command that could not be run or whose outcome is unknown (a lost connection),
	// and is then an *UnreachableError.
	Run(ctx context.Context, cmd Cmd) (Result, error)

	// ReadFile returns the content of path, at most max bytes; a longer file gives
	// ErrTooLarge. A missing file gives an error matching fs.ErrNotExist.
	ReadFile(ctx context.Context, path string, max int64) ([]byte, error)

	// WriteFile writes the content of r to path with the given mode, atomically: the data
	// goes to a temporary file in the same directory, which is renamed over path only once
	// it is complete, so a reader or a crash never sees half a file. The parent directory
	// must exist. The temporary entry's name starts with StagePrefix and StageTag.
	WriteFile(ctx context.Context, path string, r io.Reader, mode fs.FileMode) error

	// Close ends the connection. Calls in flight fail.
	Close() error
}

// LoginUser is implemented by connections that log in as some user. The user can come
// from outside the inventory (~/.ssh/config), and become must know it to decide on sudo.
type LoginUser interface {
	LoginUser() string
}

// StagePrefix starts the name of every temporary entry made beside a file being written, so
// the leftovers of a process killed mid-write can be found by name.
const StagePrefix = ".kplay-tmp-"

// StageTag follows StagePrefix (with a '-' after it) in the names this process makes. It
// tells one process's entries from another's, so that sweeping the leftovers of a killed
// run never removes an upload another kplay is making into the same directory.
var StageTag = newStageTag()

func newStageTag() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// StageName is a new name for a temporary entry of this process.
func StageName() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return StagePrefix + StageTag + "-" + hex.EncodeToString(b)
}

// Cmd is a command for Run, shaped like os/exec.Cmd.
type Cmd struct {
	// Command is a shell command line, already quoted by the caller.
	Command string
	// Stdin, when not nil, is copied to the command's standard input.
	Stdin io.Reader
}

// Result is what a command that ran left behind.
type Result struct {
	Stdout   []byte
	Stderr   []byte
	ExitCode int
}

// ErrTooLarge is returned by ReadFile for a file over the caller's limit.
var ErrTooLarge = errors.New("file too large")

// UnreachableError says that a host could not be reached, or was lost while a command ran:
// the runner reports such a host as unreachable, not as failed.
type UnreachableError struct {
	Host string
	Err  error
}

func (e *UnreachableError) Error() string { return fmt.Sprintf("%s: unreachable: %v", e.Host, e.Err) }

func (e *UnreachableError) Unwrap() error { return e.Err }

// IsUnreachable reports whether err says its host could not be reached.
func IsUnreachable(err error) bool {
	var u *UnreachableError
	return errors.As(err, &u)
}
