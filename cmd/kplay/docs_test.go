package main

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// Every --flag the documentation mentions exists on some kplay command, so the docs cannot
// describe an option the code does not have.
func TestDocsMentionOnlyRealFlags(t *testing.T) {
	real := map[string]bool{"help": true}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		c.Flags().VisitAll(func(f *pflag.Flag) { real[f.Name] = true })
		c.PersistentFlags().VisitAll(func(f *pflag.Flag) { real[f.Name] = true })
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(newRoot())

	// Flags of other tools that the docs name on purpose.
	others := map[string]bool{
		"strip-components": true, "no-install-recommends": true, "cluster": true,
		"endpoints": true, "cacert": true, "cert": true, "key": true, "download-only": true,
		"version": true, "advertise-address": true, "insecure-port": true, "race": true,
		// systemctl's and scp's, in docs/performance.md's analysis.
		"value": true,
		// Ansible's, in docs/ansible.md's comparison.
		"graph": true, "syntax-check": true,
	}
	flag := regexp.MustCompile("(?:^|[\\s`(\\[])--([a-z][a-z0-9-]+)")
	docs, _ := filepath.Glob("../../docs/*.md")
	docs = append(docs, "../../README.md")
	var missing []string
	for _, d := range docs {
		b, err := os.ReadFile(d)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range flag.FindAllStringSubmatch(string(b), -1) {
			if !real[m[1]] && !others[m[1]] {
				missing = append(missing, filepath.Base(d)+": --"+m[1])
			}
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("the docs name flags kplay does not have:\n%s", strings.Join(missing, "\n"))
	}
	if len(docs) < 3 {
		t.Fatalf("found only %v: the test reads nothing", docs)
	}
}
