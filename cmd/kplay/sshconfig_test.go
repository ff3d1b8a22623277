package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kplay-dev/kplay/engine/connection/ssh/sshtest"
)

const echoSite = `play "p" {
  hosts        = "node"
  gather_facts = false
  task "hello" {
    command { argv = ["echo", "reached through ssh config"] }
  }
  task "where" {
    debug { msg = "at ${host.address} port ${host.port} as ${host.user}" }
  }
}
`

// A host the inventory names only by an alias is reached with the address, port, user
// and key that ~/.ssh/config gives for that alias, by `kplay run` and `kplay facts` alike.
func TestRunHostFromSSHConfig(t *testing.T) {
	srv := sshtest.Start(t)
	dir, home := t.TempDir(), t.TempDir()
	key, err := os.ReadFile(srv.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(home, ".ssh"), 0o700)
	os.WriteFile(filepath.Join(home, ".ssh", "id_node"), key, 0o600)
	os.WriteFile(filepath.Join(home, ".ssh", "config"), []byte(fmt.Sprintf(`Host node
  HostName %s
  Port %d
Host no*
  User %s
  IdentityFile ~/.ssh/id_%%n
Host *
  User nobody
  Port 1
`, srv.Host, srv.Port, srv.User)), 0o600)
	os.WriteFile(filepath.Join(dir, "hosts.hcl"), []byte(fmt.Sprintf(`defaults {
  known_hosts = %q
}
host "node" {}
`, srv.KnownHosts)), 0o644)
	os.WriteFile(filepath.Join(dir, "site.hcl"), []byte(echoSite), 0o644)

	r := runKplayWith(t, dir, runOpts{home: home}, "run", "site.hcl", "-i", "hosts.hcl", "-v")
	if r.code != 0 || !strings.Contains(r.stdout, "reached through ssh config") {
		t.Fatalf("run: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	// Expressions see where the host really is, not its alias: roles put host.address in
	// certificates and unit files.
	if want := fmt.Sprintf("at %s port %d as %s", srv.Host, srv.Port, srv.User); !strings.Contains(r.stdout, want) {
		t.Errorf("host.* does not say %q:\n%s", want, r.stdout)
	}
	r = runKplayWith(t, dir, runOpts{home: home}, "inventory", "list", "-i", "hosts.hcl")
	if !strings.Contains(r.stdout, srv.Host) {
		t.Errorf("inventory list does not show the address from the file:\n%s%s", r.stdout, r.stderr)
	}
	r = runKplayWith(t, dir, runOpts{home: home}, "facts", "node", "-i", "hosts.hcl")
	if r.code != 0 || !strings.Contains(r.stdout, `"source": "gathered"`) {
		t.Fatalf("facts: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	// The inventory's own port wins over the file's; port 1 has no sshd.
	os.WriteFile(filepath.Join(dir, "hosts.hcl"), []byte(fmt.Sprintf(`defaults {
  known_hosts = %q
  port        = 1
}
host "node" {}
`, srv.KnownHosts)), 0o644)
	if r := runKplayWith(t, dir, runOpts{home: home}, "run", "site.hcl", "-i", "hosts.hcl"); r.code != 3 ||
		!strings.Contains(r.stdout+r.stderr, "127.0.0.1:1") {
		t.Errorf("with port = 1 in the inventory: exit %d, want 3 dialing port 1\n%s%s", r.code, r.stdout, r.stderr)
	}

	// A file kplay cannot parse is refused before any host is touched, by validate too,
	// naming the file and line.
	os.WriteFile(filepath.Join(home, ".ssh", "config"), []byte("Host node\n  Match exec \"true\"\n"), 0o600)
	want := filepath.Join(home, ".ssh", "config") + ":2:"
	for _, args := range [][]string{{"run", "site.hcl", "-i", "hosts.hcl"}, {"validate", "site.hcl", "-i", "hosts.hcl"}} {
		if r := runKplayWith(t, dir, runOpts{home: home}, args...); r.code != 4 || !strings.Contains(r.stderr, want) ||
			!strings.Contains(r.stderr, "Unusable OpenSSH client configuration") {
			t.Errorf("%s with a bad ssh config: exit %d, want 4 naming %s\n%s%s", args[0], r.code, want, r.stdout, r.stderr)
		}
	}
}

// ProxyJump in the inventory's ssh_config file reaches the host through a second sshd,
// checking the jump host's key too; the inventory's jump attribute wins over it.
func TestRunThroughProxyJump(t *testing.T) {
	bastion := sshtest.Start(t)
	target := sshtest.Start(t)
	dir := t.TempDir()
	known := filepath.Join(dir, "known_hosts")
	targetKey, err := os.ReadFile(target.KnownHosts)
	if err != nil {
		t.Fatal(err)
	}
	bastionKey, err := os.ReadFile(bastion.KnownHosts)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "ssh_config"), []byte(fmt.Sprintf(`Host node
  HostName %s
  Port %d
  IdentityFile %s
  ProxyJump gw
Host gw
  HostName %s
  Port %d
  IdentityFile %s
Host *
  User %s
`, target.Host, target.Port, target.KeyFile, bastion.Host, bastion.Port, bastion.KeyFile, target.User)), 0o600)
	inventory := func(extra string) {
		os.WriteFile(filepath.Join(dir, "hosts.hcl"), []byte(fmt.Sprintf(`defaults {
  known_hosts = %q
  ssh_config  = "ssh_config"
}
host "node" {
%s}
`, known, extra)), 0o644)
	}
	inventory("")
	os.WriteFile(filepath.Join(dir, "site.hcl"), []byte(echoSite), 0o644)

	// Without the jump host's key in known_hosts, the jump host is refused.
	os.WriteFile(known, targetKey, 0o600)
	if r := runKplay(t, dir, "run", "site.hcl", "-i", "hosts.hcl"); r.code != 3 ||
		!strings.Contains(r.stdout+r.stderr, "jump host gw") || !strings.Contains(r.stdout+r.stderr, bastion.HostKeyFingerprint) {
		t.Fatalf("bastion key unknown: exit %d, want 3 naming jump host gw and its key\n%s%s", r.code, r.stdout, r.stderr)
	}

	os.WriteFile(known, append(targetKey, bastionKey...), 0o600)
	r := runKplay(t, dir, "run", "site.hcl", "-i", "hosts.hcl", "-v")
	if r.code != 0 || !strings.Contains(r.stdout, "reached through ssh config") {
		t.Fatalf("run through ProxyJump: exit %d\n%s%s\nbastion log:\n%s", r.code, r.stdout, r.stderr, bastion.Log())
	}

	// The connection went through the bastion: without it the host is unreachable...
	bastion.Stop()
	if r := runKplay(t, dir, "run", "site.hcl", "-i", "hosts.hcl"); r.code != 3 || !strings.Contains(r.stdout+r.stderr, "jump host gw") {
		t.Errorf("with the bastion down: exit %d, want 3 naming the jump host\n%s%s", r.code, r.stdout, r.stderr)
	}
	// ...unless the inventory's jump = "" says to connect directly, which loopback allows.
	inventory("  jump = \"\"\n")
	if r := runKplay(t, dir, "run", "site.hcl", "-i", "hosts.hcl"); r.code != 0 {
		t.Errorf("jump = \"\" over ProxyJump: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}
