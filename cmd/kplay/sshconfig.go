package main

import (
	"sync"

	"github.com/kplay-dev/kplay/engine/connection/ssh"
	"github.com/kplay-dev/kplay/engine/inventory"
)

// sshResolver returns a function that reads the inventory's OpenSSH client configuration
// the first time it is called and then returns the same resolver, or the same error, to
// every caller. base holds what every connection of the run shares.
func sshResolver(inv *inventory.Inventory, base ssh.Config) func() (*ssh.Resolver, error) {
	d := inv.Defaults
	return sync.OnceValues(func() (*ssh.Resolver, error) {
		sc, err := ssh.LoadSSHConfig(d.SshConfig)
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
