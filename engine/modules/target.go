package modules

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"path"
	"sort"
	"strings"
	"sync"

	"github.com/kplay-dev/kplay/engine/connection"
	"github.com/kplay-dev/kplay/engine/eval/funcs"
)

// Target is a host as modules see it: a connection with the runner's become policy applied.
// Safe for concurrent use.
type Target struct {
	Name  string
	Conn  connection.Conn
	Local bool
	// User is the login user; become is a no-op for root.
	User string
	// Become runs commands and writes files as root through `sudo -n`.
	Become bool
	// Env is exported to every command run, after become (so sudo's reset does not drop it).
	Env map[string]string
	// Memo holds the checksums of the host's files verified earlier; nil disables it.
	Memo *FileMemo
	// Sources holds the checksums of deploy-host files read earlier, shared by every host
	// of a run and kept between runs; nil disables it.
	Sources *FileMemo
	// OnStage, when set, is told of every directory WriteFile is about to leave a staging
	// entry (named connection.StagePrefix...) in, and whether removing it needs root, before the entry
	// exists. A killed run cannot remove its entries; the runner records the directories so
	// the next run can. An error stops the write.
	OnStage func(dir string, root bool) error

	sudoOnce *sync.Once
	sudoErr  *error
}

// NewTarget wraps a connection. Targets made from one Probe share its sudo check.
func NewTarget(name string, c connection.Conn, local bool, user string, probe *Probe) *Target {
	return &Target{Name: name, Conn: c, Local: local, User: user, sudoOnce: &probe.once, sudoErr: &probe.err}
}

// Probe remembers, per host, whether sudo works without a password.
type Probe struct {
	once sync.Once
	err  error
}

// WithBecome returns a copy of t that does or does not become root.
func (t *Target) WithBecome(b bool) *Target {
	c := *t
	c.Become = b
	return &c
}

func (t *Target) sudo() bool { return t.Become && t.User != "root" }

// sudoProbe runs, through sudo, the shell every become command runs in.
const sudoProbe = "sudo -n -- sh -c true"

// checkSudo asks the host once whether `sudo -n` works for what become runs (sh -c), so a
// password prompt, a sudoers entry that allows only some commands, or a missing sudo is
// one clear error instead of a hung or failed command per task.
func (t *Target) checkSudo(ctx context.Context) error {
	t.sudoOnce.Do(func() {
		res, err := t.Conn.Run(ctx, connection.Cmd{Command: sudoProbe})
		switch {
		case err != nil:
			*t.sudoErr = err
		case res.ExitCode == 127:
			*t.sudoErr = fmt.Errorf("become: sudo is not installed on %s", t.Name)
		case res.ExitCode != 0:
			*t.sudoErr = fmt.Errorf("become: %s cannot run sudo without a password on %s "+
				"(sudo -n said: %s); allow it with NOPASSWD in sudoers, or log in as root",
				t.User, t.Name, strings.TrimSpace(string(res.Stderr)))
		}
	})
	return *t.sudoErr
}

// WithEnv returns a copy of t that exports env to its commands.
func (t *Target) WithEnv(env map[string]string) *Target {
	c := *t
	c.Env = env
	return &c
}

// Run runs a shell command line, as root when t becomes.
func (t *Target) Run(ctx context.Context, command string, stdin io.Reader) (connection.Result, error) {
	if len(t.Env) > 0 {
		command = exports(t.Env) + command
	}
	if t.sudo() {
		if err := t.checkSudo(ctx); err != nil {
			return connection.Result{}, err
		}
		command = "sudo -n -- sh -c " + funcs.ShellQuote(command)
	}
	return t.Conn.Run(ctx, connection.Cmd{Command: command, Stdin: stdin})
}

// RunScript runs a shell script fed on standard input, so its length and quoting never meet
// a command line.
func (t *Target) RunScript(ctx context.Context, script string) (connection.Result, error) {
	return t.Run(ctx, "sh -s", strings.NewReader(script))
}

// ReadFile reads a file, through sudo when t becomes.
func (t *Target) ReadFile(ctx context.Context, p string, max int64) ([]byte, error) {
	if !t.sudo() {
		return t.Conn.ReadFile(ctx, p, max)
	}
	res, err := t.Run(ctx, fmt.Sprintf("head -c %d -- %s", max+1, funcs.ShellQuote(p)), nil)
	if err != nil {
		return nil, err
	}
	if res.ExitCode != 0 {
		return nil, fs.ErrNotExist
	}
	if int64(len(res.Stdout)) > max {
		return nil, connection.ErrTooLarge
	}
	return res.Stdout, nil
}

// WriteFile writes a file atomically. Becoming root, the data goes to a private temporary
// file the login user owns, which root then moves beside the destination and renames.
func (t *Target) WriteFile(ctx context.Context, p string, r io.Reader, mode fs.FileMode) error {
	if !t.sudo() {
		if err := t.noteStage(path.Dir(p), false); err != nil {
			return err
		}
		return t.Conn.WriteFile(ctx, p, r, mode)
	}
	// Before the upload: a host without working sudo would keep the file in /tmp.
	if err := t.checkSudo(ctx); err != nil {
		return err
	}
	if err := t.noteStage("/tmp", false); err != nil {
		return err
	}
	if err := t.noteStage(path.Dir(p), true); err != nil {
		return err
	}
	tmp := path.Join("/tmp", connection.StageName())
	if err := t.Conn.WriteFile(ctx, tmp, r, 0o600); err != nil {
		return err
	}
	staged := path.Join(path.Dir(p), connection.StageName())
	cmd := fmt.Sprintf("cp -- %[1]s %[2]s && chmod %[4]o %[2]s && chown root:root %[2]s && mv -f -- %[2]s %[3]s; rc=$?; rm -f -- %[1]s %[2]s; exit $rc",
		funcs.ShellQuote(tmp), funcs.ShellQuote(staged), funcs.ShellQuote(p), mode.Perm())
	res, err := t.Run(ctx, cmd, nil)
	if err != nil {
		return err
	}
	if res.ExitCode != 0 {
		return fmt.Errorf("writing %s: %s", p, bytes.TrimSpace(res.Stderr))
	}
	return nil
}

func (t *Target) noteStage(dir string, root bool) error {
	if t.OnStage == nil {
		return nil
	}
	if err := t.OnStage(dir, root); err != nil {
		return fmt.Errorf("recording where %s stages uploads: %w", t.Name, err)
	}
	return nil
}

// SweepStagesCommand is a shell command that removes the staging entries that the
// processes with the given stage tags (connection.StageTag) left in dirs. It only looks one
// level deep, and never at another process's entries.
func SweepStagesCommand(dirs, tags []string) string {
	quoted := make([]string, len(dirs))
	for i, d := range dirs {
		quoted[i] = funcs.ShellQuote(d)
	}
	names := make([]string, len(tags))
	for i, tag := range tags {
		names[i] = "-name " + funcs.ShellQuote(connection.StagePrefix+tag+"-*")
	}
	return "find " + strings.Join(quoted, " ") + " -mindepth 1 -maxdepth 1 \\( " + strings.Join(names, " -o ") +
		" \\) -exec rm -rf -- {} + 2>/dev/null; true"
}

// exports renders env as shell assignments, names sorted so a command line is stable.
func exports(env map[string]string) string {
	names := make([]string, 0, len(env))
	for k := range env {
		names = append(names, k)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, k := range names {
		b.WriteString("export " + k + "=" + funcs.ShellQuote(env[k]) + "; ")
	}
	return b.String()
}
