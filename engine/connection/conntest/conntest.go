// Package conntest is an in-memory test double of connection.Conn, for the engine's unit
// tests: the runner, modules and facts exercised without SSH, without a shell and without
// touching the machine running the tests.
//
// A Host is a fake machine: a map of files with modes, a set of directories, and a Handler
// that answers commands. Every call is recorded, so a test can assert what the engine asked
// a host to do and in which order. Failures are configured per host: a host that cannot be
// reached (every call returns a *connection.UnreachableError), or a chosen call that fails.
// A Fleet groups hosts, dials them by name for a runner, and measures how many calls were
// in flight at once across all of them.
//
// The double knows no shell: a Handler decides what a command prints. A test that passes
// against it shows that the engine sends the expected commands and reacts correctly to the
// answers it scripted; it is never proof that a role works on a real host. That is the job
// of the connection tests against a loopback sshd and of the lab end-to-end tests (see
// docs/testing.md).
package conntest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"path"
	"sort"
	"sync"

	"github.com/kplay-dev/kplay/engine/connection"
)

// Op names the method of a recorded call.
type Op string

// The methods of connection.Conn.
const (
	OpRun       Op = "run"
	OpReadFile  Op = "read"
	OpWriteFile Op = "write"
	OpClose     Op = "close"
)

// Call is one recorded call. Only the fields that make sense for its Op are set.
type Call struct {
	// Seq orders calls by the time they returned: per host for a lone Host, across every
	// host of a Fleet.
	Seq     int
	Host    string
	Op      Op
	Command string
	// Stdin is what the caller fed a command, read in full before the Handler runs.
	Stdin string
	Path  string
	// Data and Mode are what WriteFile was given.
	Data []byte
	Mode fs.FileMode
	// Err is the error the call returned, nil for success.
	Err error
}

// File is the content and mode of a file on a fake host.
type File struct {
	Data []byte
	Mode fs.FileMode
}

// Handler answers a command run on h. It may read and change h's files through h's
// methods, and may block (to hold a call in flight) until ctx ends. Returning an error that
// is not a *connection.UnreachableError is allowed, though real connections do not do that.
type Handler func(ctx context.Context, h *Host, cmd Command) (connection.Result, error)

// Command is what a Handler sees of a Run call.
type Command struct {
	Line  string
	Stdin string
}

// Host is a fake machine implementing connection.Conn. It is safe for concurrent use, as
// the interface requires. The zero value is not usable; make one with New.
type Host struct {
	name string

	mu          sync.Mutex
	handler     Handler
	files       map[string]File
	dirs        map[string]bool
	calls       []Call
	unreachable error
	failures    []failure
	closed      bool
	sessions    int // connections dialed through a Fleet and not closed yet
	dialed      bool
	gauge       *gauge
}

type failure struct {
	match func(Call) bool
	err   error
}

// New returns a reachable host with the directories "/" and "/tmp" and a Handler that
// fails every command with exit status 127, so a command a test did not expect is loud.
func New(name string) *Host {
	return &Host{
		name:  name,
		files: map[string]File{},
		dirs:  map[string]bool{"/": true, "/tmp": true},
		gauge: &gauge{},
	}
}

// Name is the host's name, as UnreachableError reports it.
func (h *Host) Name() string { return h.name }

// Handle sets the function that answers commands; nil restores the default.
func (h *Host) Handle(fn Handler) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.handler = fn
}

// SetUnreachable makes every later call fail with a *connection.UnreachableError wrapping
// err, as a host that went away does; a nil err makes the host reachable again.
func (h *Host) SetUnreachable(err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.unreachable = err
}

// FailWhen makes every later call for which match is true return err instead of doing its
// work. The Call given to match has Host, Op, Command, Stdin, Path and Mode set.
func (h *Host) FailWhen(match func(Call) bool, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.failures = append(h.failures, failure{match: match, err: err})
}

// SetFile puts a file on the host, creating its parent directories.
func (h *Host) SetFile(p string, data []byte, mode fs.FileMode) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.mkdirAllLocked(path.Dir(p))
	h.files[path.Clean(p)] = File{Data: append([]byte(nil), data...), Mode: mode}
}

// RemoveFile deletes a file; it reports whether there was one.
func (h *Host) RemoveFile(p string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	_, ok := h.files[path.Clean(p)]
	delete(h.files, path.Clean(p))
	return ok
}

// File returns a copy of the file at p.
func (h *Host) File(p string) (File, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	f, ok := h.files[path.Clean(p)]
	f.Data = append([]byte(nil), f.Data...)
	return f, ok
}

// Paths lists every file on the host, sorted.
func (h *Host) Paths() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]string, 0, len(h.files))
	for p := range h.files {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// MkdirAll makes a directory and its parents exist.
func (h *Host) MkdirAll(p string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.mkdirAllLocked(p)
}

// IsDir reports whether p is a directory of the host.
func (h *Host) IsDir(p string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.dirs[path.Clean(p)]
}

func (h *Host) mkdirAllLocked(p string) {
	for p = path.Clean(p); !h.dirs[p]; p = path.Dir(p) {
		h.dirs[p] = true
	}
}

// Calls returns every call recorded so far, in order.
func (h *Host) Calls() []Call {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]Call(nil), h.calls...)
}

// Commands returns the command lines of the Run calls recorded so far, in order.
func (h *Host) Commands() []string {
	var out []string
	for _, c := range h.Calls() {
		if c.Op == OpRun {
			out = append(out, c.Command)
		}
	}
	return out
}

// Closed reports whether the host was closed: by its own Close, or, for a host dialed
// through a Fleet, by closing every connection dialed to it.
func (h *Host) Closed() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.closed || (h.dialed && h.sessions == 0)
}

// MaxInFlight is the largest number of calls this host (or, in a Fleet, all its hosts)
// had running at the same time.
func (h *Host) MaxInFlight() int { return h.gauge.maxSeen() }

// Run implements connection.Conn. Stdin is read in full before the Handler is called.
func (h *Host) Run(ctx context.Context, cmd connection.Cmd) (connection.Result, error) {
	return h.run(ctx, cmd, nil)
}

func (h *Host) run(ctx context.Context, cmd connection.Cmd, s *session) (connection.Result, error) {
	c := Call{Op: OpRun, Command: cmd.Command}
	if cmd.Stdin != nil {
		b, err := io.ReadAll(cmd.Stdin)
		if err != nil {
			return connection.Result{}, h.finish(c, fmt.Errorf("conntest: reading stdin: %w", err))
		}
		c.Stdin = string(b)
	}
	if err := h.start(ctx, &c, s); err != nil {
		return connection.Result{}, err
	}
	defer h.gauge.leave()
	h.mu.Lock()
	fn := h.handler
	h.mu.Unlock()
	if fn == nil {
		fn = unexpected
	}
	res, err := fn(ctx, h, Command{Line: c.Command, Stdin: c.Stdin})
	return res, h.finish(c, err)
}

// ReadFile implements connection.Conn.
func (h *Host) ReadFile(ctx context.Context, p string, max int64) ([]byte, error) {
	return h.readFile(ctx, p, max, nil)
}

func (h *Host) readFile(ctx context.Context, p string, max int64, s *session) ([]byte, error) {
	c := Call{Op: OpReadFile, Path: p}
	if err := h.start(ctx, &c, s); err != nil {
		return nil, err
	}
	defer h.gauge.leave()
	f, ok := h.File(p)
	switch {
	case !ok:
		return nil, h.finish(c, &fs.PathError{Op: "open", Path: p, Err: fs.ErrNotExist})
	case int64(len(f.Data)) > max:
		return nil, h.finish(c, connection.ErrTooLarge)
	}
	return f.Data, h.finish(c, nil)
}

// WriteFile implements connection.Conn: the file appears whole or not at all, and the
// parent directory must exist.
func (h *Host) WriteFile(ctx context.Context, p string, r io.Reader, mode fs.FileMode) error {
	return h.writeFile(ctx, p, r, mode, nil)
}

func (h *Host) writeFile(ctx context.Context, p string, r io.Reader, mode fs.FileMode, s *session) error {
	c := Call{Op: OpWriteFile, Path: p, Mode: mode}
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, r); err != nil {
		return h.finish(c, fmt.Errorf("conntest: reading data for %s: %w", p, err))
	}
	c.Data = buf.Bytes()
	if err := h.start(ctx, &c, s); err != nil {
		return err
	}
	defer h.gauge.leave()
	h.mu.Lock()
	dirOK := h.dirs[path.Dir(path.Clean(p))]
	if dirOK {
		h.files[path.Clean(p)] = File{Data: c.Data, Mode: mode}
	}
	h.mu.Unlock()
	if !dirOK {
		return h.finish(c, &fs.PathError{Op: "write", Path: p, Err: fs.ErrNotExist})
	}
	return h.finish(c, nil)
}

// Close implements connection.Conn. Later calls fail as unreachable.
func (h *Host) Close() error {
	h.mu.Lock()
	h.closed = true
	h.mu.Unlock()
	h.record(Call{Op: OpClose})
	return nil
}

// start records the call's entry and returns the configured failure, if any. On success
// the call counts as in flight until the caller's deferred leave. s is the Fleet
// connection the call came through, nil for a call on the Host itself.
func (h *Host) start(ctx context.Context, c *Call, s *session) error {
	c.Host = h.name
	if err := ctx.Err(); err != nil {
		return h.finish(*c, &connection.UnreachableError{Host: h.name, Err: err})
	}
	h.mu.Lock()
	var err error
	switch {
	case h.closed || (s != nil && s.closed):
		err = &connection.UnreachableError{Host: h.name, Err: fmt.Errorf("connection closed")}
	case h.unreachable != nil:
		err = &connection.UnreachableError{Host: h.name, Err: h.unreachable}
	default:
		for _, f := range h.failures {
			if f.match(*c) {
				err = f.err
				break
			}
		}
	}
	h.mu.Unlock()
	if err != nil {
		return h.finish(*c, err)
	}
	h.gauge.enter()
	return nil
}

// finish records a completed call and passes its error through.
func (h *Host) finish(c Call, err error) error {
	c.Host, c.Err = h.name, err
	h.record(c)
	return err
}

func (h *Host) record(c Call) {
	c.Host = h.name
	c.Seq = h.gauge.next()
	h.mu.Lock()
	defer h.mu.Unlock()
	h.calls = append(h.calls, c)
}

func unexpected(_ context.Context, h *Host, cmd Command) (connection.Result, error) {
	msg := fmt.Sprintf("conntest: host %s has no handler for command %q\n", h.name, cmd.Line)
	return connection.Result{ExitCode: 127, Stderr: []byte(msg)}, nil
}

// gauge counts calls in flight and numbers them; hosts of a Fleet share one.
type gauge struct {
	mu       sync.Mutex
	inFlight int
	max      int
	seq      int
}

func (g *gauge) enter() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.inFlight++
	g.max = max(g.max, g.inFlight)
}

func (g *gauge) leave() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.inFlight--
}

func (g *gauge) current() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.inFlight
}

func (g *gauge) maxSeen() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.max
}

func (g *gauge) next() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.seq++
	return g.seq
}

var _ connection.Conn = (*Host)(nil)

// session is one connection dialed through a Fleet: it shares its host's files, handler
// and record, but closing it leaves the host usable by the next dial, as a new SSH
// connection to a real host would be.
type session struct {
	h      *Host
	closed bool // guarded by h.mu
}

func (h *Host) open() *session {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.dialed = true
	h.sessions++
	return &session{h: h}
}

func (s *session) Run(ctx context.Context, cmd connection.Cmd) (connection.Result, error) {
	return s.h.run(ctx, cmd, s)
}

func (s *session) ReadFile(ctx context.Context, p string, max int64) ([]byte, error) {
	return s.h.readFile(ctx, p, max, s)
}

func (s *session) WriteFile(ctx context.Context, p string, r io.Reader, mode fs.FileMode) error {
	return s.h.writeFile(ctx, p, r, mode, s)
}

func (s *session) Close() error {
	s.h.mu.Lock()
	if !s.closed {
		s.closed = true
		s.h.sessions--
	}
	s.h.mu.Unlock()
	s.h.record(Call{Op: OpClose})
	return nil
}

var _ connection.Conn = (*session)(nil)
