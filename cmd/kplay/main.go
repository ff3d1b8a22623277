// Command kplay runs HCL playbooks against an inventory of hosts over SSH and ships the
// roles that install a binary Kubernetes cluster. This package holds the command line: flags
// and wiring. The work is done in engine/.
package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/spf13/cobra"
)

// Exit codes, as ansible-playbook's.
const (
	exitOK          = 0
	exitFailed      = 2
	exitUnreachable = 3
	exitInvalid     = 4
	exitBadOptions  = 5
	exitInterrupted = 99
)

// exitError carries an exit code out of a command; its message, if any, was printed.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

var version = "dev"

func main() {
	// Developer logs go to --log-file or nowhere: what users read comes from the output layer.
	slog.SetDefault(slog.New(slog.DiscardHandler))
	root := newRoot()
	err := root.Execute()
	if err == nil {
		os.Exit(exitOK)
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.msg != "" {
			fmt.Fprintln(os.Stderr, "kplay:", ee.msg)
		}
		os.Exit(ee.code)
	}
	fmt.Fprintln(os.Stderr, "kplay:", err)
	os.Exit(exitBadOptions)
}

func newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:           "kplay",
		Short:         "Run HCL playbooks over SSH; install binary Kubernetes clusters",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return &exitError{code: exitBadOptions, msg: err.Error()}
	})
	root.AddCommand(
		newRunCmd(), newValidateCmd(), newExplainCmd(), newFactsCmd(), newInitCmd(), newRolesCmd(),
		newInventoryCmd(), newFmtCmd(), newCompletionCmd(), newVersionCmd(), newDocsCmd(),
	)
	return root
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print kplay's version",
		Args:  cobra.NoArgs,
		Run:   func(cmd *cobra.Command, _ []string) { fmt.Fprintln(cmd.OutOrStdout(), "kplay", version) },
	}
}
