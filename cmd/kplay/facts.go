package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/kplay-dev/kplay/engine/config"
	"github.com/kplay-dev/kplay/engine/facts"
	"github.com/kplay-dev/kplay/engine/inventory"
	"github.com/kplay-dev/kplay/engine/output"
	"github.com/kplay-dev/kplay/engine/runlock"
)

type factsFlags struct {
	runFlags
	refresh bool
}

func newFactsCmd() *cobra.Command {
	f := &factsFlags{}
	cmd := &cobra.Command{
		Use:   "facts HOST -i INVENTORY",
		Short: "Show a host's facts: cached ones while fresh, else gathered (and cached)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return showFacts(cmd.OutOrStdout(), cmd.ErrOrStderr(), args[0], f)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&f.inventory, "inventory", "i", "", "inventory file (hosts.hcl)")
	fl.BoolVar(&f.refresh, "refresh", false, "gather again even when the cache is fresh")
	fl.DurationVar(&f.factTTL, "fact-ttl", 2*time.Hour, "how long cached facts are trusted")
	fl.BoolVar(&f.acceptNew, "accept-new-host-keys", false, "record the key of a host known_hosts does not list yet")
	fl.StringVar(&f.knownHosts, "known-hosts", "", "known_hosts file (default: the inventory's, else ~/.ssh/known_hosts)")
	fl.DurationVar(&f.connectTimeout, "timeout", 10*time.Second, "SSH connect and handshake timeout")
	return cmd
}

// factsReport is what `kplay facts` prints: the facts and where they came from.
type factsReport struct {
	Host     string       `json:"host"`
	Source   string       `json:"source"` // "cache" or "gathered"
	AgeSecs  int64        `json:"age_seconds"`
	Facts    *facts.Facts `json:"facts"`
	CacheDir string       `json:"cache_dir"`
}

func showFacts(w, errw io.Writer, name string, f *factsFlags) error {
	if f.inventory == "" {
		return &exitError{code: exitBadOptions, msg: "no inventory: pass -i hosts.hcl"}
	}
	p := config.NewParser()
	inv, diags := inventory.Load(p, f.inventory)
	if !diags.HasErrors() {
		diags = append(diags, applySSHConfig(inv)...)
	}
	if diags.HasErrors() {
		output.Diagnostics(errw, p.Files(), diags, colorOn(errw))
		return &exitError{code: exitInvalid}
	}
	h := inv.Host(name)
	if h == nil {
		return &exitError{code: exitBadOptions, msg: fmt.Sprintf("no host %q in %s", name, inv.Path)}
	}
	cache := &facts.Cache{Dir: inv.StateDir + "/facts", TTL: f.factTTL}
	rep := factsReport{Host: h.Name, CacheDir: cache.Dir}
	if cached, age := cache.Load(h.Name, h.Endpoint()); cached != nil && !f.refresh {
		rep.Source, rep.AgeSecs, rep.Facts = "cache", int64(age.Seconds()), cached
	} else {
		lock, err := runlock.Acquire(inv.StateDir)
		if err != nil {
			return &exitError{code: exitBadOptions, msg: err.Error()}
		}
		defer lock.Release()
		gathered, err := gather(h, inv, &f.runFlags)
		if err != nil {
			return &exitError{code: exitUnreachable, msg: err.Error()}
		}
		if err := cache.Store(h.Name, h.Endpoint(), gathered); err != nil {
			return fmt.Errorf("caching facts: %w", err)
		}
		rep.Source, rep.Facts = "gathered", gathered
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

func gather(h *inventory.Host, inv *inventory.Inventory, f *runFlags) (*facts.Facts, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := dialer(inv, f)(ctx, h)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	return facts.Gather(ctx, conn)
}
