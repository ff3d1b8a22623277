package main

import (
	"fmt"
	"sync"

	"github.com/hashicorp/hcl/v2"

	"github.com/kplay-dev/kplay/engine/connection/ssh"
	"github.com/kplay-dev/kplay/engine/inventory"
)

// sshResolver returns a function that reads the inventory's OpenSSH client configuration
// the first time it is called and then returns the same resolver, or the same error, to
// every caller. base holds what every connection of the run shares.
func sshResolver(inv *inventory.Inventory, base ssh.Config) func() (*ssh.Resolver, error) {
	d := inv.Defaults
	return sync.OnceValues(func() (*ssh.Resolver, error) {
		sc, err := loadSSHConfig(d.SshConfig)
		if err != nil {
			return nil, err
		}
		return &ssh.Resolver{
			SSHConfig:    sc,
			Base:         base,
			JumpDefaults: inventorySettings(d.Explicit(), "", d.User, d.Port, d.KeyFiles),
		}, nil
	})
}

// sshConfigs holds the OpenSSH client configurations this process has read, by path: loading
// the inventory applies the file, and dialing its hosts later resolves through it again.
var sshConfigs sync.Map // path → func() (*ssh.SSHConfig, error)

func loadSSHConfig(path string) (*ssh.SSHConfig, error) {
	load, _ := sshConfigs.LoadOrStore(path, sync.OnceValues(func() (*ssh.SSHConfig, error) {
		return ssh.LoadSSHConfig(path)
	}))
	return load.(func() (*ssh.SSHConfig, error))()
}

// inventorySettings keeps the settings the inventory wrote, leaving the others zero for
// the OpenSSH client configuration to fill.
func inventorySettings(e inventory.Explicit, address, user string, port int, keys []string) ssh.Settings {
	var s ssh.Settings
	if e.Address {
		s.Address = address
	}
	if e.User {
		s.User = user
	}
	if e.Port {
		s.Port = port
	}
	if e.KeyFiles {
		s.KeyFiles = append([]string{}, keys...) // not nil: an empty list is a choice too
	}
	return s
}

// applySSHConfig gives every SSH host the address, user and port kplay will reach it at,
// taking what the inventory left unset from the OpenSSH client configuration. Expressions
// (host.address, hosts["n1"].address), facts and become then see the values the
// connection uses, not the host's alias, and a configuration kplay cannot use is an error
// before any host is touched. The inventory's explicit settings are not changed.
func applySSHConfig(inv *inventory.Inventory) hcl.Diagnostics {
	r, err := sshResolver(inv, ssh.Config{})()
	if err != nil {
		return hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Unusable OpenSSH client configuration",
			Detail: fmt.Sprintf("%v. Fix the file, or set ssh_config = \"\" in the inventory's defaults block to not read it.", err)}}
	}
	if r.SSHConfig == nil {
		return nil
	}
	var diags hcl.Diagnostics
	for _, h := range inv.Hosts {
		if h.Local() {
			continue
		}
		set := inventorySettings(h.Explicit(), h.Address, h.User, h.Port, h.KeyFiles)
		set.JumpChosen = h.Explicit().Jump || h.Jump != ""
		cfg, err := r.Resolve(h.Name, set)
		if err != nil {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError,
				Summary: "Unusable OpenSSH setting for host " + h.Name,
				Detail:  err.Error() + ".", Subject: h.DeclRange.Ptr()})
			continue
		}
		h.Address, h.User, h.Port = cfg.Address, cfg.User, cfg.Port
	}
	return diags
}
