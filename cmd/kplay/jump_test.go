package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kplay-dev/kplay/engine/connection/ssh/sshtest"
)

// A run reaches a host through its jump host, checking both hosts' keys, and loses it
// when the jump host is gone.
func TestRunThroughJumpHost(t *testing.T) {
	bastion := sshtest.Start(t)
	target := sshtest.Start(t)
	dir := t.TempDir()
	known := filepath.Join(dir, "known_hosts")
	var keys []byte
	for _, s := range []*sshtest.Server{bastion, target} {
		b, err := os.ReadFile(s.KnownHosts)
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, b...)
	}
	os.WriteFile(known, keys, 0o600)
	inv := fmt.Sprintf(`defaults {
  user        = %q
  key_files   = [%q, %q]
  known_hosts = %q
}
host "bastion" {
  address = %q
  port    = %d
}
host "node" {
  address = %q
  port    = %d
  jump    = "bastion"
}
`, target.User, bastion.KeyFile, target.KeyFile, known, bastion.Host, bastion.Port, target.Host, target.Port)
	os.WriteFile(filepath.Join(dir, "hosts.hcl"), []byte(inv), 0o644)
	os.WriteFile(filepath.Join(dir, "site.hcl"), []byte(`play "p" {
  hosts        = "node"
  gather_facts = false
  task "hello" {
    command { argv = ["echo", "through the bastion"] }
  }
}
`), 0o644)
	r := runKplay(t, dir, "run", "site.hcl", "-i", "hosts.hcl", "-v")
	if r.code != 0 || !strings.Contains(r.stdout, "through the bastion") {
		t.Fatalf("run through the jump host: exit %d\n%s%s\nbastion log:\n%s", r.code, r.stdout, r.stderr, bastion.Log())
	}
	bastion.Stop()
	if r := runKplay(t, dir, "run", "site.hcl", "-i", "hosts.hcl"); r.code != 3 || !strings.Contains(r.stdout+r.stderr, "jump host bastion") {
		t.Errorf("with the bastion down: exit %d, want 3 naming the jump host\n%s%s", r.code, r.stdout, r.stderr)
	}
}
