package ssh_test

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kplay-dev/kplay/engine/connection/ssh"
)

// resolver loads src as an OpenSSH client configuration, with HOME in a temporary
// directory so that "~" is known and the user's own files are never read.
func resolver(t *testing.T, src string) (*ssh.Resolver, string) {
	t.Helper()
	home := t.TempDir()
	t.Setenv("HOME", home)
	path := filepath.Join(home, ".ssh", "config")
	os.MkdirAll(filepath.Dir(path), 0o700)
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	sc, err := ssh.LoadSSHConfig(path)
	if err != nil {
		t.Fatalf("LoadSSHConfig: %v", err)
	}
	base := ssh.Config{KnownHostsFile: "/kh", AcceptNewHostKeys: true, ConnectTimeout: time.Second}
	return &ssh.Resolver{SSHConfig: sc, Base: base}, home
}

// route writes how a resolved config reaches its host: the jump hosts first, then
// user@address:port [key files], each hop as "host=...".
func route(cfg ssh.Config) string {
	hop := fmt.Sprintf("%s=%s@%s:%d %v", cfg.Host, cfg.User, cfg.Address, cfg.Port, cfg.KeyFiles)
	if cfg.Jump == nil {
		return hop
	}
	return route(*cfg.Jump) + " -> " + hop
}

func resolve(t *testing.T, r *ssh.Resolver, name string, set ssh.Settings) string {
	t.Helper()
	cfg, err := r.Resolve(name, set)
	if err != nil {
		t.Fatalf("Resolve(%s): %v", name, err)
	}
	return route(cfg)
}

func TestResolveAlias(t *testing.T) {
	r, home := resolver(t, `
Host n1 n1.lab
  HostName 10.0.0.11
  User admin
  Port 2222
  IdentityFile ~/.ssh/id_n1
  IdentityFile /keys/%r@%h:%p-%n
Host web
  HostName %h.example.com
`)
	want := fmt.Sprintf("n1=admin@10.0.0.11:2222 [%s /keys/admin@10.0.0.11:2222-n1]",
		filepath.Join(home, ".ssh/id_n1"))
	if got := resolve(t, r, "n1", ssh.Settings{}); got != want {
		t.Errorf("n1: %s, want %s", got, want)
	}
	if got := resolve(t, r, "web", ssh.Settings{}); got != "web=root@web.example.com:22 []" {
		t.Errorf("web: %s", got)
	}
	if got := resolve(t, r, "other", ssh.Settings{}); got != "other=root@other:22 []" {
		t.Errorf("a host the file does not name keeps kplay's defaults: %s", got)
	}
	cfg, _ := r.Resolve("n1", ssh.Settings{})
	if cfg.KnownHostsFile != "/kh" || !cfg.AcceptNewHostKeys || cfg.ConnectTimeout != time.Second {
		t.Errorf("the base settings were not kept: %+v", cfg)
	}
}

// As with OpenSSH, the first value obtained wins, whichever block gives it; IdentityFile
// gathers every block's; a negated pattern makes its block skip the host.
func TestResolveFirstValueWins(t *testing.T) {
	r, _ := resolver(t, `
Host web-1
  User first
Host web-* !web-3
  User second
  Port 2200
  IdentityFile /keys/web
Host web-?
  HostName %h.lab
Host *
  User last
  Port 22
  IdentityFile /keys/all
`)
	tests := map[string]string{
		"web-1": "web-1=first@web-1.lab:2200 [/keys/web /keys/all]",
		"web-2": "web-2=second@web-2.lab:2200 [/keys/web /keys/all]",
		"web-3": "web-3=last@web-3.lab:22 [/keys/all]",
		"db":    "db=last@db:22 [/keys/all]",
	}
	for name, want := range tests {
		if got := resolve(t, r, name, ssh.Settings{}); got != want {
			t.Errorf("%s: %s, want %s", name, got, want)
		}
	}
}

// What the inventory wrote wins, even when it equals kplay's default; with an address, the
// file is looked up for the address, as ssh would be given it.
func TestResolveInventoryWins(t *testing.T) {
	r, _ := resolver(t, `
Host n1
  HostName 10.0.0.11
  User admin
  Port 2222
  IdentityFile /keys/n1
Host 192.0.2.*
  User ops
  Port 2200
`)
	set := ssh.Settings{User: "root", Port: 22, KeyFiles: []string{"/inv/key"}}
	if got := resolve(t, r, "n1", set); got != "n1=root@10.0.0.11:22 [/inv/key]" {
		t.Errorf("explicit user, port, keys: %s", got)
	}
	if got := resolve(t, r, "n1", ssh.Settings{KeyFiles: []string{}}); got != "n1=admin@10.0.0.11:2222 []" {
		t.Errorf("key_files = [] offers no IdentityFile: %s", got)
	}
	if got := resolve(t, r, "n1", ssh.Settings{Address: "192.0.2.5"}); got != "n1=ops@192.0.2.5:2200 []" {
		t.Errorf("explicit address: %s", got)
	}
	// An address that is itself an alias of the file goes where ssh would take it.
	if got := resolve(t, r, "node-a", ssh.Settings{Address: "n1"}); got != "node-a=admin@10.0.0.11:2222 [/keys/n1]" {
		t.Errorf("an alias as address: %s", got)
	}
}

func TestResolveProxyJump(t *testing.T) {
	r, _ := resolver(t, `
Host n1
  HostName 10.0.0.11
  ProxyJump jumper@gw:2022
Host n2
  ProxyJump ssh://gw,inner
Host n3
  ProxyJump none
Host gw
  HostName 192.0.2.1
  User gwuser
  IdentityFile /keys/gw
  ProxyJump outer
Host inner
  ProxyJump never-used
Host n*
  ProxyJump gw
`)
	r.JumpDefaults = ssh.Settings{User: "invuser", KeyFiles: []string{"/inv/key"}}
	tests := []struct {
		name string
		set  ssh.Settings
		want string
	}{
		{"n1", ssh.Settings{},
			"outer=invuser@outer:22 [/inv/key] -> gw=jumper@192.0.2.1:2022 [/keys/gw] -> n1=root@10.0.0.11:22 []"},
		// In a chain, each hop is reached through the one before it, whatever its own
		// ProxyJump; the first through its own.
		{"n2", ssh.Settings{},
			"outer=invuser@outer:22 [/inv/key] -> gw=gwuser@192.0.2.1:22 [/keys/gw] -> " +
				"inner=invuser@inner:22 [/inv/key] -> n2=root@n2:22 []"},
		{"n3", ssh.Settings{}, "n3=root@n3:22 []"},
		{"n1", ssh.Settings{JumpChosen: true}, "n1=root@10.0.0.11:22 []"},
	}
	for _, tt := range tests {
		if got := resolve(t, r, tt.name, tt.set); got != tt.want {
			t.Errorf("%s %+v:\n got %s\nwant %s", tt.name, tt.set, got, tt.want)
		}
	}
	// Each jump host gets the base settings: its own key is checked against known_hosts.
	cfg, _ := r.Resolve("n1", ssh.Settings{})
	if j := cfg.Jump; j.KnownHostsFile != "/kh" || !j.AcceptNewHostKeys || j.ConnectTimeout != time.Second {
		t.Errorf("jump host settings: %+v", j)
	}
}

func TestResolveErrors(t *testing.T) {
	tests := []struct{ name, src, want string }{
		{"bad port", "Host n1\n  Port ssh\n", `config:2: Port "ssh" for n1 is not a port number`},
		{"bad jump", "Host n1\n\n  ProxyJump gw:99999\n", `config:3: ProxyJump "gw:99999" for n1`},
		{"proxy command", "Host *\n  ProxyCommand nc %h %p\n", "config:2: ProxyCommand for n1: kplay supports ProxyJump only"},
		{"jump loop", "Host n1\n  ProxyJump a\nHost a\n  ProxyJump b\nHost b\n  ProxyJump a\n", "more than 10 jump hosts"},
		{"token", "Host n1\n  IdentityFile ~/.ssh/%C\n", `IdentityFile "~/.ssh/%C" for n1: token %C is not supported`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, home := resolver(t, tt.src)
			_, err := r.Resolve("n1", ssh.Settings{})
			var scErr *ssh.SSHConfigError
			if !errors.As(err, &scErr) || scErr.Path != filepath.Join(home, ".ssh/config") {
				t.Fatalf("Resolve: %v, want an *SSHConfigError for the file", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Resolve: %v, want %q", err, tt.want)
			}
		})
	}
}

func TestLoadSSHConfig(t *testing.T) {
	dir := t.TempDir()
	for _, path := range []string{"", filepath.Join(dir, "missing")} {
		if sc, err := ssh.LoadSSHConfig(path); sc != nil || err != nil {
			t.Errorf("LoadSSHConfig(%q) = %v, %v; want nothing and no error", path, sc, err)
		}
	}
	bad := filepath.Join(dir, "config")
	os.WriteFile(bad, []byte("Host n1\n  User a\nMatch exec \"true\"\n"), 0o600)
	_, err := ssh.LoadSSHConfig(bad)
	var scErr *ssh.SSHConfigError
	if !errors.As(err, &scErr) || scErr.Path != bad || scErr.Line != 3 {
		t.Fatalf("LoadSSHConfig: %#v, want an *SSHConfigError on line 3", err)
	}
	if want := bad + ":3: Match Exec is not supported"; !strings.Contains(err.Error(), want) {
		t.Errorf("error %q, want %q", err, want)
	}
	if _, err := ssh.LoadSSHConfig(dir); err == nil {
		t.Error("LoadSSHConfig of a directory succeeded")
	}
}

// A nil configuration leaves what the inventory did not write to kplay's defaults.
func TestResolveWithoutConfig(t *testing.T) {
	r := &ssh.Resolver{}
	if got := resolve(t, r, "n1", ssh.Settings{Port: 2222}); got != "n1=root@n1:2222 []" {
		t.Errorf("%s", got)
	}
}

func TestResolveTokens(t *testing.T) {
	u, err := user.Current()
	if err != nil {
		t.Skip(err)
	}
	r, home := resolver(t, "Host n1\n  IdentityFile %d/k-%u-100%%\n  IdentityFile ~"+u.Username+"/x\n")
	cfg, err := r.Resolve("n1", ssh.Settings{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{filepath.Join(home, "k-"+u.Username+"-100%"), filepath.Join(u.HomeDir, "x")}
	if strings.Join(cfg.KeyFiles, " ") != strings.Join(want, " ") {
		t.Errorf("key files %v, want %v", cfg.KeyFiles, want)
	}
}
