package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func newValidateCmd() *cobra.Command {
	f := &loadFlags{}
	cmd := &cobra.Command{
		Use:   "validate PLAYBOOK -i INVENTORY",
		Short: "Check a playbook, its roles and the inventory without contacting any host",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := load(cmd.ErrOrStderr(), args[0], *f)
			if err != nil {
				return err
			}
			tasks := 0
			for _, play := range p.playbook.Plays {
				tasks += len(play.AllTasks())
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s is valid: %d plays, %d tasks, %d hosts\n",
				args[0], len(p.playbook.Plays), tasks, len(p.inv.Hosts))
			return nil
		},
	}
	cmd.Flags().StringVarP(&f.inventory, "inventory", "i", "", "inventory file (hosts.hcl)")
	cmd.Flags().StringArrayVarP(&f.extraVars, "extra-vars", "e", nil, "set a variable, name=value")
	return cmd
}
