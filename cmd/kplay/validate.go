package main

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/hashicorp/hcl/v2"
	"github.com/spf13/cobra"
)

type validateFlags struct {
	loadFlags
	json bool
}

func newValidateCmd() *cobra.Command {
	f := &validateFlags{}
	cmd := &cobra.Command{
		Use:   "validate PLAYBOOK -i INVENTORY",
		Short: "Check a playbook, its roles and the inventory without contacting any host",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if f.json {
				return validateJSON(cmd.OutOrStdout(), args[0], f.loadFlags)
			}
			p, err := load(cmd.ErrOrStderr(), args[0], f.loadFlags)
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
	cmd.Flags().BoolVar(&f.json, "json", false, "print the result as JSON, in the shape of terraform validate -json")
	return cmd
}

// The shape of `terraform validate -json`, so editors and CI tools that read it read kplay.
type validateResult struct {
	FormatVersion string           `json:"format_version"`
	Valid         bool             `json:"valid"`
	ErrorCount    int              `json:"error_count"`
	WarningCount  int              `json:"warning_count"`
	Diagnostics   []jsonDiagnostic `json:"diagnostics"`
}

type jsonDiagnostic struct {
	Severity string     `json:"severity"`
	Summary  string     `json:"summary"`
	Detail   string     `json:"detail,omitempty"`
	Range    *jsonRange `json:"range,omitempty"`
}

type jsonRange struct {
	Filename string  `json:"filename"`
	Start    jsonPos `json:"start"`
	End      jsonPos `json:"end"`
}

type jsonPos struct {
	Line   int `json:"line"`
	Column int `json:"column"`
	Byte   int `json:"byte"`
}

func validateJSON(w io.Writer, playbook string, f loadFlags) error {
	_, diags, err := check(playbook, f)
	if err != nil {
		return err
	}
	res := validateResult{FormatVersion: "1.0", Diagnostics: []jsonDiagnostic{}}
	for _, d := range diags {
		jd := jsonDiagnostic{Severity: "warning", Summary: d.Summary, Detail: d.Detail}
		if d.Severity == hcl.DiagError {
			jd.Severity = "error"
			res.ErrorCount++
		} else {
			res.WarningCount++
		}
		if r := d.Subject; r != nil {
			jd.Range = &jsonRange{Filename: r.Filename,
				Start: jsonPos{r.Start.Line, r.Start.Column, r.Start.Byte},
				End:   jsonPos{r.End.Line, r.End.Column, r.End.Byte}}
		}
		res.Diagnostics = append(res.Diagnostics, jd)
	}
	res.Valid = res.ErrorCount == 0
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(res); err != nil {
		return err
	}
	if !res.Valid {
		return &exitError{code: exitInvalid}
	}
	return nil
}
