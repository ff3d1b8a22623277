package eval

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"

	"github.com/kplay-dev/kplay/engine/config"
	"github.com/kplay-dev/kplay/engine/inventory"
)

// fixture is a project on disk: files by path relative to a temporary directory.
type fixture map[string]string

// project is a loaded fixture: hosts.hcl, site.hcl with its roles, and artifacts.hcl when
// the fixture has one.
type project struct {
	inv     *inventory.Inventory
	pb      *config.Playbook
	pins    *config.Pins
	cluster *config.Role
	dir     string
}

func loadProject(t *testing.T, files fixture) *project {
	t.Helper()
	dir := t.TempDir()
	for name, src := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	l := config.NewLoader(config.Modules{}, config.RoleSource{})
	if _, ok := files["cluster.hcl"]; ok {
		if diags := l.LoadClusterVars(os.DirFS(dir), "cluster.hcl", "cluster.hcl"); diags.HasErrors() {
			t.Fatalf("cluster variables: %s", diags.Error())
		}
	}
	inv, diags := inventory.Load(l.Parser, filepath.Join(dir, "hosts.hcl"))
	if diags.HasErrors() {
		t.Fatalf("inventory: %s", diags.Error())
	}
	pb, diags := l.LoadPlaybook(filepath.Join(dir, "site.hcl"))
	if diags.HasErrors() {
		t.Fatalf("playbook: %s", diags.Error())
	}
	pr := &project{inv: inv, pb: pb, dir: dir, cluster: l.Cluster}
	if _, ok := files["artifacts.hcl"]; ok {
		pr.pins, diags = l.Parser.LoadPins(os.DirFS(dir), "artifacts.hcl", "artifacts.hcl")
		if diags.HasErrors() {
			t.Fatalf("pins: %s", diags.Error())
		}
	}
	return pr
}

// env makes the run environment with the given -e values.
func (p *project) env(extra map[string]string) *Env {
	ev := config.Values{}
	for k, v := range extra {
		ev[k] = config.Value{Value: cty.StringVal(v), Range: hcl.Range{Filename: "-e " + k}}
	}
	e := NewEnv(p.inv, ev, p.pins, map[string]cty.Value{"check_mode": cty.False}, p.dir)
	e.Cluster = p.cluster
	return e
}

// vars merges the variables of the first play's first role (if any) on host.
func (p *project) vars(t *testing.T, e *Env, host string) (*Vars, hcl.Diagnostics) {
	t.Helper()
	play := p.pb.Plays[0]
	var role *config.Role
	if len(play.Roles) > 0 {
		role = play.Roles[0]
	}
	h := p.inv.Host(host)
	if h == nil {
		t.Fatalf("no host %s", host)
	}
	return e.Vars(h, play, role)
}

const layeredHosts = `
vars = {
  v_inventory = "inventory"
  v_parent    = "inventory"
  v_child     = "inventory"
  v_host      = "inventory"
  v_play      = "inventory"
  v_extra     = "inventory"
}
host "n1" {
  vars = {
    v_host  = "host"
    v_play  = "host"
    v_extra = "host"
  }
}
host "n2" {}
group "zparent" {
  children = ["achild"]
  vars = {
    v_parent = "group zparent"
    v_child  = "group zparent"
    v_host   = "group zparent"
    v_play   = "group zparent"
    v_extra  = "group zparent"
  }
}
group "achild" {
  hosts = ["n1", "n2"]
  vars = {
    v_child = "group achild"
    v_host  = "group achild"
    v_play  = "group achild"
    v_extra = "group achild"
  }
}
`

const layeredRole = `
variable "v_default" { default = "default" }
variable "v_inventory" { default = "default" }
variable "v_parent" { default = "default" }
variable "v_child" { default = "default" }
variable "v_host" { default = "default" }
variable "v_play" { default = "default" }
variable "v_extra" { default = "default" }
`

const layeredPlay = `
play "site" {
  hosts = "all"
  roles = ["r"]
  vars = {
    v_play  = "play"
    v_extra = "play"
  }
}
`

func TestVariablePrecedence(t *testing.T) {
	p := loadProject(t, fixture{"hosts.hcl": layeredHosts, "site.hcl": layeredPlay, "roles/r/main.hcl": layeredRole})
	v, diags := p.vars(t, p.env(map[string]string{"v_extra": "extra"}), "n1")
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	want := map[string]string{
		"v_default":   "default",
		"v_inventory": "inventory",
		"v_parent":    "group zparent",
		"v_child":     "group achild",
		"v_host":      "host",
		"v_play":      "play",
		"v_extra":     "extra",
	}
	for name, w := range want {
		got := v.Values[name]
		if got.Type() != cty.String || got.AsString() != w {
			t.Errorf("%s = %#v, want %q", name, got, w)
		}
	}

	var layers []string
	for _, o := range v.Origins["v_extra"] {
		layers = append(layers, o.Layer)
		if o.Range.Filename == "" {
			t.Errorf("origin %q has no source range", o.Layer)
		}
		if o.Value.Type() != cty.String {
			t.Errorf("origin %q has value %#v", o.Layer, o.Value)
		}
	}
	wantLayers := "inventory vars|group zparent|group achild|host n1|play site|command line (-e)"
	if got := strings.TrimPrefix(strings.Join(layers, "|"), "default of role r|"); got != wantLayers {
		t.Errorf("origins of v_extra:\n got %s\nwant %s", got, wantLayers)
	}
	if got := v.Origins["v_default"]; len(got) != 1 || got[0].Layer != "default of role r" {
		t.Errorf("origins of v_default = %+v", got)
	}
}

// kplay explain shows every place a variable is set, the role default it overrides included.
func TestOriginsListOverriddenRoleDefault(t *testing.T) {
	p := loadProject(t, fixture{"hosts.hcl": layeredHosts, "site.hcl": layeredPlay, "roles/r/main.hcl": layeredRole})
	v, diags := p.vars(t, p.env(nil), "n1")
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	o := v.Origins["v_inventory"]
	if len(o) != 2 || o[0].Layer != "default of role r" || o[1].Layer != "inventory vars" {
		var layers []string
		for _, x := range o {
			layers = append(layers, x.Layer)
		}
		t.Fatalf("origins of an overridden role variable are %q; the role default "+
			"is missing (eval/layers.go resolveRole records it only when it applies)", layers)
	}
	if o[0].Range.Filename == "" {
		t.Error("the default's origin has no source range")
	}
}

// Another host's variables, seen through hosts["n"].vars, are its static layers only.
func TestScopeSeesHostsGroupsAndFacts(t *testing.T) {
	p := loadProject(t, fixture{"hosts.hcl": layeredHosts, "site.hcl": layeredPlay, "roles/r/main.hcl": layeredRole})
	e := p.env(nil)
	e.SetFacts("n2", cty.ObjectVal(map[string]cty.Value{"arch": cty.StringVal("x86_64")}))
	v, _ := p.vars(t, e, "n1")
	s := e.Scope(p.inv.Host("n1"), v.Values, map[string]cty.Value{"out": cty.StringVal("r")})
	tests := map[string]string{
		`host.name`:                  "n1",
		`join(",", host.groups)`:     "zparent,achild",
		`join(",", groups.achild)`:   "n1,n2",
		`hosts["n2"].facts.arch`:     "x86_64",
		`hosts["n1"].vars.v_play`:    "host",
		`var.v_play`:                 "play",
		`registered.out`:             "r",
		`tostring(kplay.check_mode)`: "false",
		`try(facts.arch, "none")`:    "none",
	}
	for src, want := range tests {
		got := evalString(t, s.Context(), src)
		if got != want {
			t.Errorf("%s = %q, want %q", src, got, want)
		}
	}
	each := s.WithEach(cty.StringVal("k"), cty.NumberIntVal(3))
	if got := evalString(t, each.Context(), `"${each.key}=${each.value}"`); got != "k=3" {
		t.Errorf("each = %q", got)
	}
}

func evalString(t *testing.T, ctx *hcl.EvalContext, src string) string {
	t.Helper()
	expr, diags := hclsyntax.ParseExpression([]byte(src), "test", hcl.InitialPos)
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	v, diags := expr.Value(ctx)
	if diags.HasErrors() {
		t.Fatalf("%s: %s", src, diags.Error())
	}
	return v.AsString()
}

func TestRoleDefaultsResolveInDependencyOrder(t *testing.T) {
	p := loadProject(t, fixture{
		"hosts.hcl": `
vars = { cluster = "prod" }
host "n1" {}
`,
		"site.hcl": `
play "site" {
  hosts = "all"
  roles = ["r"]
}
`,
		// Declared before what they use: order of declaration must not matter.
		"roles/r/a.hcl": `
variable "url" { default = "https://${var.name}.example/${var.path}" }
variable "name" { default = "${var.cluster}-${var.short}" }
`,
		"roles/r/b.hcl": `
variable "path" { default = upper(var.short) }
variable "short" { default = "api" }
`,
	})
	v, diags := p.vars(t, p.env(nil), "n1")
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	if got := v.Values["url"].AsString(); got != "https://prod-api.example/API" {
		t.Errorf("url = %q", got)
	}
	// A default the user overrides is not evaluated, and the dependents see the override.
	v, diags = p.vars(t, p.env(map[string]string{"short": "etcd"}), "n1")
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	if got := v.Values["url"].AsString(); got != "https://prod-etcd.example/ETCD" {
		t.Errorf("url with -e short=etcd = %q", got)
	}
}

func TestRoleVariableErrors(t *testing.T) {
	tests := []struct {
		name  string
		role  string
		hosts string
		play  string
		want  []string
	}{
		{
			name: "cycle",
			role: `
variable "ok" { default = 1 }
variable "a" { default = var.b }
variable "b" { default = "${var.a}" }
`,
			want: []string{"Variables refer to each other", `[a b]`, `role "r"`},
		},
		{
			name: "required",
			role: `
variable "token" { description = "the join token" }
`,
			want: []string{"Required variable not set", `"token"`, "the join token"},
		},
		{
			name: "type conversion names the layer",
			role: `variable "port" {
  type    = number
  default = 2379
}
`,
			hosts: `host "n1" {
  vars = { port = "two" }
}`,
			want: []string{"Invalid value for variable", `"port"`, "must be number", "set in host n1"},
		},
		{
			name: "validation",
			role: `variable "mode" {
  default = "a"
  validation {
    condition     = contains(["a", "b"], var.mode)
    error_message = "The mode must be a or b."
  }
}
`,
			play: `vars = { mode = "c" }`,
			want: []string{"Invalid value for variable", `The mode must be a or b. (variable "mode", set in play site)`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hosts := tt.hosts
			if hosts == "" {
				hosts = `host "n1" {}`
			}
			p := loadProject(t, fixture{
				"hosts.hcl":        hosts,
				"site.hcl":         "play \"site\" {\n  hosts = \"all\"\n  roles = [\"r\"]\n  " + tt.play + "\n}\n",
				"roles/r/main.hcl": tt.role,
			})
			_, diags := p.vars(t, p.env(nil), "n1")
			if !diags.HasErrors() {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(diags.Error(), w) {
					t.Errorf("diagnostics %q do not contain %q", diags.Error(), w)
				}
			}
			for _, d := range diags {
				if d.Severity == hcl.DiagError && d.Subject == nil {
					t.Errorf("diagnostic %q has no source range", d.Summary)
				}
			}
		})
	}
}

func TestValidationPassesAndConvertsType(t *testing.T) {
	p := loadProject(t, fixture{
		"hosts.hcl": `host "n1" {
  vars = { port = "2380" }
}`,
		"site.hcl": "play \"site\" {\n  hosts = \"all\"\n  roles = [\"r\"]\n}\n",
		"roles/r/main.hcl": `variable "port" {
  type    = number
  default = 2379
  validation {
    condition     = var.port > 1024
    error_message = "Use an unprivileged port."
  }
}`,
	})
	v, diags := p.vars(t, p.env(nil), "n1")
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	if got := v.Values["port"]; !got.Type().Equals(cty.Number) || got.AsBigFloat().String() != "2380" {
		t.Errorf("port = %#v, want the number 2380", got)
	}
}

// Cluster variables are the lowest layer of every scope, and a role's defaults may build
// on them; explain names them "cluster default".
func TestClusterVariables(t *testing.T) {
	files := fixture{
		"cluster.hcl": `variable "service_cidr" {
  default = "10.68.0.0/16"
}
variable "cluster_dns" {
  default = cidrhost(var.service_cidr, 2)
}
`,
		"hosts.hcl": `host "n1" {}`,
		"site.hcl":  "play \"p\" {\n  hosts = \"n1\"\n  roles = [\"r\"]\n}\n",
		"roles/r/main.hcl": `variable "dns_line" {
  default = "nameserver ${var.cluster_dns}"
}
`,
	}
	p := loadProject(t, files)
	v, diags := p.vars(t, p.env(nil), "n1")
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	if got := v.Values["dns_line"].AsString(); got != "nameserver 10.68.0.2" {
		t.Errorf("dns_line = %q", got)
	}
	if o := v.Origins["service_cidr"]; len(o) != 1 || o[0].Layer != "cluster default" {
		t.Errorf("origins of service_cidr: %+v", o)
	}
	v, _ = p.vars(t, p.env(map[string]string{"service_cidr": "10.96.0.0/12"}), "n1")
	if got := v.Values["dns_line"].AsString(); got != "nameserver 10.96.0.2" {
		t.Errorf("with -e service_cidr: dns_line = %q", got)
	}
}
