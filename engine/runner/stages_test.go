package runner_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kplay-dev/kplay/engine/connection"
	"github.com/kplay-dev/kplay/engine/connection/conntest"
)

// A write cut short by a lost connection can leave its staging entry beside the
// destination. The directory was recorded before the write began; the next run sweeps it
// on connecting, and a run that ends with the host reachable forgets the record.
func TestStagingLeftByALostWriteIsSweptNextRun(t *testing.T) {
	rg := newRig(t, map[string]string{"hosts.hcl": threeHosts, "site.hcl": `
play "p" {
  hosts        = "n1"
  gather_facts = false
  task "conf" {
    copy {
      content = "x = 1\n"
      dest    = "/etc/app.conf"
    }
  }
}
`})
	record := filepath.Join(rg.dir, "state", "staging", "n1.json")
	n1 := rg.fleet.Host("n1")
	n1.FailWhen(func(c conntest.Call) bool { return c.Op == conntest.OpWriteFile },
		&connection.UnreachableError{Host: "n1", Err: errors.New("connection reset mid-upload")})
	if res := rg.mustRun(); !res.Unreachable() {
		t.Fatal("the cut write did not make n1 unreachable")
	}
	if b, err := os.ReadFile(record); err != nil || !strings.Contains(string(b), `"/etc"`) {
		t.Fatalf("the write's directory was not recorded before it began: %v %s", err, b)
	}

	// Check mode must not sweep, nor forget what is left to sweep.
	n1 = freshHost(rg, "n1")
	var swept []string
	n1.Handle(func(ctx context.Context, h *conntest.Host, c conntest.Command) (connection.Result, error) {
		if strings.HasPrefix(c.Line, "find ") {
			swept = append(swept, c.Line)
			return connection.Result{}, nil
		}
		return emulate(ctx, h, c)
	})
	rg.opts.Check = true
	rg.mustRun()
	if len(swept) != 0 {
		t.Errorf("check mode swept: %q", swept)
	}
	if _, err := os.Stat(record); err != nil {
		t.Fatalf("check mode forgot the record: %v", err)
	}

	rg.opts.Check = false
	rg.mustRun()
	// The killed run was this process: its tag is the one to sweep, and no other.
	if want := "-name '" + connection.StagePrefix + connection.StageTag + "-*'"; len(swept) != 1 ||
		!strings.HasPrefix(swept[0], "find /etc ") || !strings.Contains(swept[0], want) || strings.Count(swept[0], "-name") != 1 {
		t.Fatalf("sweep commands %q, want one over /etc for %s", swept, want)
	}
	// The check run's probe comes first; in the real run the sweep precedes the copy's probe.
	if cmds := n1.Commands(); len(cmds) != 3 || !strings.HasPrefix(cmds[1], "find ") {
		t.Errorf("want probe (check run), sweep, probe on n1: %q", cmds)
	}
	if f, ok := n1.File("/etc/app.conf"); !ok || string(f.Data) != "x = 1\n" {
		t.Errorf("the file was not written after the sweep: %+v", f)
	}
	if _, err := os.Stat(record); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a run that ended reachable kept the record: %v", err)
	}

	// A failed sweep keeps the record for the next run.
	os.MkdirAll(filepath.Dir(record), 0o700)
	os.WriteFile(record, []byte(`{"/etc":{"root":false,"tags":["0123456789ab"]}}`), 0o600)
	n1 = freshHost(rg, "n1")
	n1.Handle(func(ctx context.Context, h *conntest.Host, c conntest.Command) (connection.Result, error) {
		if strings.HasPrefix(c.Line, "find ") {
			return connection.Result{ExitCode: 1}, nil
		}
		return emulate(ctx, h, c)
	})
	rg.mustRun()
	if _, err := os.Stat(record); err != nil {
		t.Errorf("a failed sweep lost the record: %v", err)
	}
}

// freshHost replaces the rig's fleet with a new one, as if the hosts were reconnected after
// whatever broke them, and returns the named host.
func freshHost(rg *rig, name string) *conntest.Host {
	rg.fleet = conntest.NewFleet(emulate)
	for _, n := range []string{"n1", "n2", "n3"} {
		rg.fleet.Add(n).MkdirAll("/etc")
	}
	return rg.fleet.Host(name)
}

// The user the connection logged in as decides become, not the inventory's default: a user
// that ~/.ssh/config chose is not root just because the inventory did not say.
func TestBecomeFollowsTheConnectionsLoginUser(t *testing.T) {
	rg := newRig(t, map[string]string{"hosts.hcl": threeHosts, "site.hcl": `
play "p" {
  hosts        = "n1,n2"
  gather_facts = false
  become       = true
  task "as root" {
    shell { cmd = "echo hi" }
  }
}
`})
	rg.loginUser = map[string]string{"n1": "ops"}
	rg.fleet.Host("n1").Handle(func(ctx context.Context, h *conntest.Host, c conntest.Command) (connection.Result, error) {
		switch {
		case c.Line == "sudo -n -- sh -c true":
			return connection.Result{}, nil
		case strings.HasPrefix(c.Line, "sudo -n -- sh -c "):
			return connection.Result{Stdout: []byte("hi\n")}, nil
		}
		return emulate(ctx, h, c)
	})
	rg.mustRun()
	if got := strings.Join(rg.fleet.Host("n1").Commands(), "|"); got != "sudo -n -- sh -c true|sudo -n -- sh -c 'echo hi'" {
		t.Errorf("n1, logged in as ops: commands %q, want the sudo probe and the command through sudo", got)
	}
	if got := strings.Join(rg.fleet.Host("n2").Commands(), "|"); got != "echo hi" {
		t.Errorf("n2, logged in as root: commands %q, want no sudo", got)
	}
}
