package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/spf13/cobra"
	"github.com/zclconf/go-cty/cty"

	"github.com/kplay-dev/kplay/engine/connection"
	"github.com/kplay-dev/kplay/engine/connection/local"
	"github.com/kplay-dev/kplay/engine/connection/ssh"
	"github.com/kplay-dev/kplay/engine/inventory"
	"github.com/kplay-dev/kplay/engine/output"
	"github.com/kplay-dev/kplay/engine/runlock"
	"github.com/kplay-dev/kplay/engine/runner"
)

type runFlags struct {
	loadFlags
	tags, skipTags []string
	limit          string
	forks          int
	check, diff    bool
	verbose        int
	acceptNew      bool
	knownHosts     string
	flushCache     bool
	factTTL        time.Duration
	outputFormat   string
	logFile        string
	connectTimeout time.Duration
	interruptWait  time.Duration
	startAt        string
	listHosts      bool
	listTasks      bool
	listTags       bool
	step           bool
}

func newRunCmd() *cobra.Command {
	f := &runFlags{}
	cmd := &cobra.Command{
		Use:   "run PLAYBOOK -i INVENTORY",
		Short: "Run a playbook against an inventory",
		Args:  cobra.ExactArgs(1),
		RunE:  func(cmd *cobra.Command, args []string) error { return runPlaybook(cmd, args[0], f) },
	}
	fl := cmd.Flags()
	fl.StringVarP(&f.inventory, "inventory", "i", "", "inventory file (hosts.hcl)")
	fl.StringArrayVarP(&f.extraVars, "extra-vars", "e", nil, "set a variable, name=value (highest precedence; repeatable)")
	fl.StringSliceVarP(&f.tags, "tags", "t", nil, "run only tasks with these tags")
	fl.StringSliceVar(&f.skipTags, "skip-tags", nil, "skip tasks with these tags")
	fl.StringVarP(&f.limit, "limit", "l", "", "narrow every play to hosts matching this pattern")
	fl.IntVarP(&f.forks, "forks", "f", 20, "hosts worked on in parallel")
	fl.BoolVarP(&f.check, "check", "C", false, "predict changes without making them")
	fl.BoolVarP(&f.diff, "diff", "D", false, "show file changes as unified diffs")
	fl.CountVarP(&f.verbose, "verbose", "v", "show commands and output (-vv timings, -vvv debug log)")
	fl.BoolVar(&f.acceptNew, "accept-new-host-keys", false, "record the key of a host known_hosts does not list yet, instead of refusing it")
	fl.StringVar(&f.knownHosts, "known-hosts", "", "known_hosts file (default: the inventory's, else ~/.ssh/known_hosts)")
	fl.BoolVar(&f.flushCache, "flush-cache", false, "forget cached facts and gather them again")
	fl.DurationVar(&f.factTTL, "fact-ttl", 2*time.Hour, "how long cached facts are trusted")
	fl.StringVarP(&f.outputFormat, "output", "o", "human", "output format: human or json")
	fl.StringVar(&f.logFile, "log-file", "", "write a developer log (log/slog JSON) to this file")
	fl.DurationVar(&f.connectTimeout, "timeout", 10*time.Second, "SSH connect and handshake timeout")
	fl.StringVar(&f.startAt, "start-at-task", "", "skip every task before the first one of this name")
	fl.BoolVar(&f.listHosts, "list-hosts", false, "list each play's hosts (after --limit) and exit")
	fl.BoolVar(&f.listTasks, "list-tasks", false, "list the tasks --tags selects, per play, and exit")
	fl.BoolVar(&f.listTags, "list-tags", false, "list the tags of the selected tasks, per play, and exit")
	fl.DurationVar(&f.interruptWait, "interrupt-wait", 10*time.Second, "after Ctrl-C, how long to wait for commands in flight")
	fl.BoolVar(&f.step, "step", false, "ask before each task whether to run it: y, n (skip) or c (run the rest unasked)")
	return cmd
}

func runPlaybook(cmd *cobra.Command, path string, f *runFlags) error {
	out := cmd.OutOrStdout()
	if f.outputFormat != "human" && f.outputFormat != "json" {
		return &exitError{code: exitBadOptions, msg: fmt.Sprintf("--output is human or json, not %q", f.outputFormat)}
	}
	if f.forks < 1 {
		return &exitError{code: exitBadOptions, msg: fmt.Sprintf("--forks must be at least 1, not %d", f.forks)}
	}
	step, err := stepper(cmd, f)
	if err != nil {
		return err
	}
	p, err := load(cmd.ErrOrStderr(), path, f.loadFlags)
	if err != nil {
		return err
	}
	tags := runner.Tags{Only: f.tags, Skip: f.skipTags}
	if err := tags.Check(p.playbook); err != nil {
		return &exitError{code: exitBadOptions, msg: err.Error()}
	}
	if f.listHosts || f.listTasks || f.listTags {
		return listPlan(out, p, tags, f)
	}
	lock, err := runlock.Acquire(p.inv.StateDir)
	if err != nil {
		return &exitError{code: exitBadOptions, msg: err.Error()}
	}
	defer lock.Release()
	logger, closeLog, err := openLog(f.logFile, f.verbose)
	if err != nil {
		return &exitError{code: exitBadOptions, msg: err.Error()}
	}
	defer closeLog()
	slog.SetDefault(logger) // the packages' own logs (connections) go to the same file

	r := &runner.Runner{
		Playbook: p.playbook, Loader: p.loader, Inv: p.inv, Log: logger,
		Env: newEnv(p, path, f.check, f.diff),
		Opts: runner.Options{
			Forks: f.forks, Check: f.check, Diff: f.diff, Tags: tags, Limit: f.limit,
			FactTTL: f.factTTL, FlushCache: f.flushCache, StartAt: f.startAt,
		},
		Sink: sink(out, f),
		Dial: dialer(p.inv, f),
		Step: step,
	}
	return execute(r, f.interruptWait)
}

// stepper is what --step asks through. Answers come from stdin: a terminal, or a pipe or
// file of answers (echoed, so the output reads as a session). Any other stdin, /dev/null
// above all, is refused: no answer would ever come. Questions go with the human output,
// or to stderr under --output json so stdout stays one JSON object per line.
func stepper(cmd *cobra.Command, f *runFlags) (runner.Stepper, error) {
	if !f.step {
		return nil, nil
	}
	in, tty := cmd.InOrStdin(), false
	if fh, ok := in.(*os.File); ok {
		tty = isatty.IsTerminal(fh.Fd())
		if fi, err := fh.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 && !tty {
			return nil, &exitError{code: exitBadOptions, msg: "--step reads answers from stdin, which is neither a terminal nor a pipe or file of answers"}
		}
	}
	questions := cmd.OutOrStdout()
	if f.outputFormat == "json" {
		questions = cmd.ErrOrStderr()
	}
	return output.NewStepPrompt(in, questions, !tty), nil
}

// execute runs r, turning the first Ctrl-C into a cancellation that in-flight commands get
// a bounded time to honor, and a second into an immediate exit.
func execute(r *runner.Runner, wait time.Duration) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	type done struct {
		res *runner.Result
		err error
	}
	finished := make(chan done, 1)
	go func() {
		res, err := r.Run(ctx)
		finished <- done{res, err}
	}()
	var d done
	select {
	case d = <-finished:
	case <-sigs:
		cancel()
		fmt.Fprintln(os.Stderr, "\nkplay: interrupted; waiting for commands in flight (Ctrl-C again to quit now)")
		select {
		case d = <-finished:
		case <-sigs:
			return &exitError{code: exitInterrupted, msg: "interrupted twice; hosts may be mid-task"}
		case <-time.After(wait):
			return &exitError{code: exitInterrupted, msg: fmt.Sprintf("commands still running after %s; gave up waiting", wait)}
		}
	}
	if d.err != nil {
		return &exitError{code: exitBadOptions, msg: d.err.Error()}
	}
	switch {
	case d.res.Recap.Interrupted:
		return &exitError{code: exitInterrupted}
	case d.res.Failed():
		return &exitError{code: exitFailed}
	case d.res.Unreachable():
		return &exitError{code: exitUnreachable}
	}
	return nil
}

func sink(w io.Writer, f *runFlags) output.Sink {
	if f.outputFormat == "json" {
		return output.NewJSON(w)
	}
	return output.NewHuman(w, f.verbose, f.diff, !colorOn(w))
}

func kplayObject(p *project, check, diff bool) map[string]cty.Value {
	pbDir, _ := filepath.Abs(filepath.Dir(p.playbook.Path))
	return map[string]cty.Value{
		"state_dir":     cty.StringVal(p.inv.StateDir),
		"playbook_dir":  cty.StringVal(pbDir),
		"inventory_dir": cty.StringVal(p.inv.Dir),
		"check_mode":    cty.BoolVal(check),
		"diff_mode":     cty.BoolVal(diff),
	}
}

// dialer connects to hosts as the inventory says: the deploy host locally, the others
// over SSH with host keys checked. What the inventory leaves unset comes from its OpenSSH
// client configuration (~/.ssh/config), read once, at the first SSH host.
func dialer(inv *inventory.Inventory, f *runFlags) runner.Dialer {
	knownHosts := f.knownHosts
	if knownHosts == "" {
		knownHosts = inv.Defaults.KnownHosts
	}
	resolver := sshResolver(inv, ssh.Config{
		UseAgent: os.Getenv("SSH_AUTH_SOCK") != "", KnownHostsFile: knownHosts,
		AcceptNewHostKeys: f.acceptNew, ConnectTimeout: f.connectTimeout,
		KeepAlive: 15 * time.Second,
	})
	return func(ctx context.Context, h *inventory.Host) (connection.Conn, error) {
		if h.Local() {
			return local.New(), nil
		}
		r, err := resolver()
		if err != nil {
			return nil, &connection.UnreachableError{Host: h.Name, Err: err}
		}
		cfg, err := sshConfig(inv, h, r)
		if err != nil {
			return nil, &connection.UnreachableError{Host: h.Name, Err: err}
		}
		c, err := ssh.Dial(ctx, cfg)
		if err != nil {
			return nil, err // a nil *ssh.Conn must not become a non-nil interface
		}
		return c, nil
	}
}

// sshConfig says how to reach h, through its jump hosts if it has any (the inventory has
// checked that they chain without a cycle). The inventory's jump host wins over ProxyJump.
func sshConfig(inv *inventory.Inventory, h *inventory.Host, r *ssh.Resolver) (ssh.Config, error) {
	set := inventorySettings(h.Explicit(), h.Address, h.User, h.Port, h.KeyFiles)
	set.JumpChosen = h.Explicit().Jump || h.Jump != ""
	cfg, err := r.Resolve(h.Name, set)
	if err != nil {
		return cfg, err
	}
	if j := inv.Host(h.Jump); j != nil {
		jump, err := sshConfig(inv, j, r)
		if err != nil {
			return cfg, fmt.Errorf("jump host %s: %w", j.Name, err)
		}
		cfg.Jump = &jump
	}
	return cfg, nil
}

func openLog(path string, verbose int) (*slog.Logger, func(), error) {
	if path == "" {
		return slog.New(slog.DiscardHandler), func() {}, nil
	}
	fh, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, nil, fmt.Errorf("--log-file: %w", err)
	}
	level := slog.LevelInfo
	if verbose >= 3 {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewJSONHandler(fh, &slog.HandlerOptions{Level: level})), func() { fh.Close() }, nil
}

// listPlan prints what the run would touch, as ansible-playbook's --list-* options do.
func listPlan(w io.Writer, p *project, tags runner.Tags, f *runFlags) error {
	plans, err := runner.Plan(p.playbook, p.inv, tags, f.limit)
	if err != nil {
		return &exitError{code: exitBadOptions, msg: err.Error()}
	}
	for _, pp := range plans {
		fmt.Fprintf(w, "play %q (%d hosts)\n", pp.Name, len(pp.Hosts))
		if f.listHosts {
			for _, h := range pp.Hosts {
				fmt.Fprintf(w, "  host %s\n", h)
			}
		}
		if f.listTasks {
			for _, t := range pp.Tasks {
				fmt.Fprintf(w, "  task %-50s tags: %s\n", t.Name, strings.Join(t.Tags, ","))
			}
		}
		if f.listTags {
			seen := map[string]bool{}
			var all []string
			for _, t := range pp.Tasks {
				for _, tag := range t.Tags {
					if !seen[tag] {
						seen[tag] = true
						all = append(all, tag)
					}
				}
			}
			sort.Strings(all)
			fmt.Fprintf(w, "  tags: %s\n", strings.Join(all, ", "))
		}
	}
	return nil
}
