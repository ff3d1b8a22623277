package runner_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/kplay-dev/kplay/engine/config"
	"github.com/kplay-dev/kplay/engine/inventory"
	"github.com/kplay-dev/kplay/engine/modules"
	"github.com/kplay-dev/kplay/engine/runner"
)

// Plan shows exactly what --tags and --limit select, without a connection.
func TestPlan(t *testing.T) {
	rg := newRig(t, map[string]string{"hosts.hcl": threeHosts, "roles/web/main.hcl": `
task "install" {
  shell { cmd = "echo install" }
  tags = ["pkg"]
}
task "debug only" {
  debug { msg = "x" }
  tags = ["never", "debug"]
}
`, "site.hcl": `
play "web" {
  hosts = "nodes"
  roles = ["web"]
  task "always there" {
    debug { msg = "y" }
    tags = ["always"]
  }
  task "configure" {
    shell { cmd = "echo conf" }
    tags = ["conf"]
  }
}
`})
	l := config.NewLoader(modules.Specs(), config.RoleSource{})
	inv, diags := inventory.Load(l.Parser, filepath.Join(rg.dir, "hosts.hcl"))
	pb, d := l.LoadPlaybook(filepath.Join(rg.dir, "site.hcl"))
	if diags = append(diags, d...); diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	for _, tc := range []struct {
		tags  runner.Tags
		limit string
		hosts string
		tasks string
	}{
		{runner.Tags{}, "", "n1,n2,n3", "web : install,always there,configure"},
		{runner.Tags{Only: []string{"pkg"}}, "n2", "n2", "web : install,always there"},
		{runner.Tags{Only: []string{"debug"}}, "", "n1,n2,n3", "web : debug only,always there"},
		{runner.Tags{Skip: []string{"web", "always"}}, "!n1", "n2,n3", "configure"},
	} {
		plans, err := runner.Plan(pb, inv, tc.tags, tc.limit)
		if err != nil {
			t.Fatal(err)
		}
		var tasks []string
		for _, task := range plans[0].Tasks {
			tasks = append(tasks, task.Name)
		}
		if h := strings.Join(plans[0].Hosts, ","); h != tc.hosts {
			t.Errorf("%+v %q: hosts %s, want %s", tc.tags, tc.limit, h, tc.hosts)
		}
		if got := strings.Join(tasks, ","); got != tc.tasks {
			t.Errorf("%+v %q: tasks %s, want %s", tc.tags, tc.limit, got, tc.tasks)
		}
	}
	plans, _ := runner.Plan(pb, inv, runner.Tags{}, "")
	if tags := strings.Join(plans[0].Tasks[0].Tags, ","); tags != "pkg,web" {
		t.Errorf("install's tags: %s, want pkg,web (its own and its role's)", tags)
	}
}
