package main

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
)

// initFiles are the starter files kplay init writes. initdata/site.hcl is a copy of the
// repository's site.hcl (go:embed cannot reach outside this directory); a test keeps the two
// equal.
//
//go:embed initdata/hosts.hcl initdata/site.hcl
var initFiles embed.FS

// initNames are the files of initdata, in the order they are written and reported.
var initNames = []string{"hosts.hcl", "site.hcl"}

func newInitCmd() *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "init [DIR]",
		Short: "Write a starter inventory (hosts.hcl) and playbook (site.hcl) to DIR",
		Long: `Writes DIR/hosts.hcl, the reference topology (a local deploy host and three nodes in
the etcd, kube_master and kube_node groups), and DIR/site.hcl, the playbook that installs
the whole cluster. Roles stay embedded in kplay; see kplay roles export to edit one.

DIR defaults to the current directory and is created if missing. Existing files are never
overwritten without --force (exit 5).`,
		Example: "  kplay init mycluster\n  $EDITOR mycluster/hosts.hcl",
		Args:    cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := "."
			if len(args) == 1 {
				dir = args[0]
			}
			return initDir(cmd, dir, force)
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "overwrite files that already exist")
	return cmd
}

func initDir(cmd *cobra.Command, dir string, force bool) error {
	if !force {
		if err := refuseExisting(dir); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return &exitError{code: exitBadOptions, msg: fmt.Sprintf("init: %v", err)}
	}
	out := cmd.OutOrStdout()
	for _, name := range initNames {
		data, err := initFiles.ReadFile("initdata/" + name)
		if err != nil {
			return fmt.Errorf("init: embedded %s: %w", name, err) // a build without the file
		}
		target := filepath.Join(dir, name)
		if err := writeAtomic(target, data, 0o644, force); err != nil {
			return initWriteError(target, err)
		}
		fmt.Fprintln(out, "wrote", target)
	}
	hosts, site := filepath.Join(dir, "hosts.hcl"), filepath.Join(dir, "site.hcl")
	fmt.Fprintf(out, "\nNext: put your nodes' addresses and key in %s, then\n"+
		"  kplay validate %s -i %s\n  kplay run %s -i %s\n", hosts, site, hosts, site, hosts)
	return nil
}

// refuseExisting names every starter file that is already in dir, so one message tells the
// user all that --force would overwrite.
func refuseExisting(dir string) error {
	var existing []string
	for _, name := range initNames {
		p := filepath.Join(dir, name)
		if _, err := os.Lstat(p); err == nil {
			existing = append(existing, p)
		}
	}
	if len(existing) == 0 {
		return nil
	}
	verb := "exists"
	if len(existing) > 1 {
		verb = "exist"
	}
	return &exitError{code: exitBadOptions, msg: fmt.Sprintf(
		"%s already %s; nothing was written (pass --force to overwrite)",
		strings.Join(existing, " and "), verb)}
}

func initWriteError(target string, err error) error {
	if errors.Is(err, fs.ErrExist) {
		return &exitError{code: exitBadOptions, msg: fmt.Sprintf(
			"%s appeared while kplay init was writing; pass --force to overwrite it", target)}
	}
	return &exitError{code: exitBadOptions, msg: fmt.Sprintf("init: %v", err)}
}
