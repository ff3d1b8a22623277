package funcs

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// call evaluates src, an HCL expression, with the function table of opts.
func call(opts Options, src string) (cty.Value, error) {
	expr, diags := hclsyntax.ParseExpression([]byte(src), "test.hcl", hcl.InitialPos)
	if diags.HasErrors() {
		return cty.NilVal, diags
	}
	v, diags := expr.Value(&hcl.EvalContext{Functions: Table(opts)})
	if diags.HasErrors() {
		return cty.NilVal, diags
	}
	return v, nil
}

type funcCase struct {
	src     string
	want    string // the result as a string; tostring() is applied to bools
	wantErr string
}

func runCases(t *testing.T, opts Options, cases []funcCase) {
	t.Helper()
	for _, tt := range cases {
		t.Run(tt.src, func(t *testing.T) {
			v, err := call(opts, tt.src)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("%s: err = %v, want one containing %q (value %#v)", tt.src, err, tt.wantErr, v)
				}
				return
			}
			if err != nil {
				t.Fatalf("%s: %v", tt.src, err)
			}
			got := ""
			switch v.Type() {
			case cty.String:
				got = v.AsString()
			case cty.Bool:
				got = map[bool]string{true: "true", false: "false"}[v.True()]
			default:
				t.Fatalf("%s: unexpected type %s", tt.src, v.Type().FriendlyName())
			}
			if got != tt.want {
				t.Errorf("%s = %q, want %q", tt.src, got, tt.want)
			}
		})
	}
}

func TestCIDRFunctions(t *testing.T) {
	runCases(t, Options{}, []funcCase{
		{src: `cidrhost("10.0.0.0/24", 0)`, want: "10.0.0.0"},
		{src: `cidrhost("10.0.0.0/24", 5)`, want: "10.0.0.5"},
		{src: `cidrhost("10.0.0.0/24", 255)`, want: "10.0.0.255"},
		{src: `cidrhost("10.0.0.7/24", 1)`, want: "10.0.0.1"}, // host bits of the prefix ignored
		{src: `cidrhost("10.96.0.0/12", 1)`, want: "10.96.0.1"},
		{src: `cidrhost("10.96.0.0/12", 10)`, want: "10.96.0.10"},
		{src: `cidrhost("10.96.0.0/12", 256)`, want: "10.96.1.0"},
		{src: `cidrhost("10.0.0.0/24", -1)`, want: "10.0.0.255"},
		{src: `cidrhost("10.0.0.0/24", -2)`, want: "10.0.0.254"},
		{src: `cidrhost("10.0.0.0/24", -256)`, want: "10.0.0.0"},
		{src: `cidrhost("fd00::/64", 1)`, want: "fd00::1"},
		{src: `cidrhost("fd00::/120", -1)`, want: "fd00::ff"},
		{src: `cidrhost("10.0.0.0/24", 256)`, wantErr: "has no host number 256"},
		{src: `cidrhost("10.0.0.0/24", -257)`, wantErr: "has no host number -257"},
		{src: `cidrhost("10.0.0.0/32", 1)`, wantErr: "has no host number 1"},
		{src: `cidrhost("10.0.0.0", 1)`, wantErr: "invalid CIDR"},
		{src: `cidrhost("10.0.0.0/24", 1.5)`, wantErr: "whole number"},

		{src: `cidrsubnet("10.0.0.0/16", 8, 2)`, want: "10.0.2.0/24"},
		{src: `cidrsubnet("10.0.0.0/16", 8, 255)`, want: "10.0.255.0/24"},
		{src: `cidrsubnet("10.0.0.0/16", 0, 0)`, want: "10.0.0.0/16"},
		{src: `cidrsubnet("172.16.0.0/12", 4, 15)`, want: "172.31.0.0/16"},
		{src: `cidrsubnet("fd00::/48", 16, 1)`, want: "fd00:0:0:1::/64"},
		{src: `cidrsubnet("10.0.0.0/16", 8, 256)`, wantErr: "has no subnet 256"},
		{src: `cidrsubnet("10.0.0.0/16", 8, -1)`, wantErr: "has no subnet -1"},
		{src: `cidrsubnet("10.0.0.0/30", 3, 0)`, wantErr: "cannot extend prefix"},
		{src: `cidrsubnet("10.0.0.0/16", -1, 0)`, wantErr: "cannot extend prefix"},

		{src: `cidrnetmask("10.0.0.0/12")`, want: "255.240.0.0"},
		{src: `cidrnetmask("10.0.0.0/24")`, want: "255.255.255.0"},
		{src: `cidrnetmask("0.0.0.0/0")`, want: "0.0.0.0"},
		{src: `cidrnetmask("10.0.0.0/33")`, wantErr: "invalid CIDR"},
	})
}

func TestStringFunctions(t *testing.T) {
	runCases(t, Options{}, []funcCase{
		{src: `base64encode("hello")`, want: "aGVsbG8="},
		{src: `base64encode("")`, want: ""},
		{src: `base64decode(base64encode("a\nb\u00e9"))`, want: "a\nb\u00e9"},
		{src: `base64decode("!!")`, wantErr: "illegal base64"},
		{src: `sha256("hello")`, want: "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"},
		{src: `sha256("")`, want: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
		{src: `basename("/opt/bin/etcd")`, want: "etcd"},
		{src: `dirname("/opt/bin/etcd")`, want: "/opt/bin"},
		{src: `shellquote("it's")`, want: `'it'\''s'`},
		{src: `shellquote("plain-word_1.2")`, want: "plain-word_1.2"},
		{src: `jsonencode({a = [1, "b"]})`, want: `{"a":[1,"b"]}`},
		{src: `try(tonumber("x"), "fallback")`, want: "fallback"},
	})
}

func TestStartsWithEndsWith(t *testing.T) {
	table := Table(Options{})
	for _, name := range []string{"startswith", "endswith"} {
		if _, ok := table[name]; !ok {
			t.Fatalf("%s is not in the function table (funcs.go defines "+
				"stringPredicate but registers no function with it)", name)
		}
	}
	runCases(t, Options{}, []funcCase{
		{src: `startswith("kube-apiserver", "kube-")`, want: "true"},
		{src: `startswith("kube-apiserver", "etcd")`, want: "false"},
		{src: `startswith("a", "")`, want: "true"},
		{src: `endswith("etcd.service", ".service")`, want: "true"},
		{src: `endswith("etcd.service", ".socket")`, want: "false"},
		{src: `endswith("", "x")`, want: "false"},
	})
}

// A quoted word must reach the program exactly as written, whatever it holds.
func TestShellQuoteRoundTripsThroughSh(t *testing.T) {
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh")
	}
	hostile := []string{
		"",
		"plain",
		"two words",
		"  leading and trailing  ",
		"it's",
		`"double" quotes`,
		`'''`,
		"$(touch /tmp/kplay-pwned)",
		"`id`",
		"${HOME}",
		"$HOME",
		"a\nb\n",
		"\n",
		"tab\there",
		`back\slash\`,
		"semi; rm -rf /",
		"pipe | cat",
		"glob * ? [a]",
		"~root",
		"-n",
		"#comment",
		"&& echo",
		"unicode é ü 中",
		"!bang",
	}
	for _, s := range hostile {
		out, err := exec.Command("sh", "-c", "printf %s "+ShellQuote(s)).Output()
		if err != nil {
			t.Errorf("sh for %q: %v", s, err)
			continue
		}
		if string(out) != s {
			t.Errorf("round trip of %q gave %q (quoted %s)", s, out, ShellQuote(s))
		}
	}
}

func TestFileAndTemplatefile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("endpoints.tmpl", "%{ for i, h in hosts ~}\n${i}=${upper(h)}:${port}\n%{ endfor ~}\n%{ if tls }https%{ else }http%{ endif }\n")
	write("plain.txt", "just text\n")
	write("bad.tmpl", "${missing}\n")
	opts := Options{BaseDir: dir}
	runCases(t, opts, []funcCase{
		{src: `templatefile("endpoints.tmpl", { hosts = ["n1", "n2"], port = 2379, tls = true })`, want: "0=N1:2379\n1=N2:2379\nhttps\n"},
		{src: `templatefile("endpoints.tmpl", { hosts = [], port = 1, tls = false })`, want: "http\n"},
		{src: `templatefile("` + filepath.Join(dir, "plain.txt") + `", {})`, want: "just text\n"},
		{src: `file("plain.txt")`, want: "just text\n"},
		{src: `templatefile("bad.tmpl", { other = 1 })`, wantErr: `There is no variable named "missing"`},
		{src: `templatefile("nope.tmpl", {})`, wantErr: "no such file"},
		{src: `file("nope.txt")`, wantErr: "no such file"},
	})
}

// With no variables at all, a template that uses one must still say which is missing.
func TestTemplatefileEmptyVarsNamesMissingVariable(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "bad.tmpl"), []byte("${missing}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := call(Options{BaseDir: dir}, `templatefile("bad.tmpl", {})`)
	if err == nil {
		t.Fatal("no error")
	}
	if !strings.Contains(err.Error(), `"missing"`) {
		t.Fatalf("templatefile with {} reports %q instead of naming the variable "+
			"(an empty object's AsValueMap is nil, so the context has no variable table)", err)
	}
}

func TestCidrContainsAndFileExists(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "f"), nil, 0o644)
	table := Table(Options{BaseDir: dir})
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{"10.0.0.0/8", "10.1.2.3", true}, {"10.0.0.0/8", "11.0.0.1", false},
		{"10.0.0.0/8", "10.68.0.0/16", true}, {"10.68.0.0/16", "10.0.0.0/8", false},
		{"172.20.0.0/16", "10.68.0.0/16", false},
	} {
		v, err := table["cidrcontains"].Call([]cty.Value{cty.StringVal(tc.a), cty.StringVal(tc.b)})
		if err != nil || v.True() != tc.want {
			t.Errorf("cidrcontains(%s, %s) = %v, %v; want %v", tc.a, tc.b, v, err, tc.want)
		}
	}
	if _, err := table["cidrcontains"].Call([]cty.Value{cty.StringVal("10.0.0.0/8"), cty.StringVal("nope")}); err == nil {
		t.Error("cidrcontains accepted a non-address")
	}
	for name, want := range map[string]bool{"f": true, "missing": false, ".": false} {
		v, _ := table["fileexists"].Call([]cty.Value{cty.StringVal(name)})
		if v.True() != want {
			t.Errorf("fileexists(%q) = %v", name, v)
		}
	}
}

func TestBoolFoldsAndStrcontains(t *testing.T) {
	table := Table(Options{})
	list := func(bs ...bool) cty.Value {
		if len(bs) == 0 {
			return cty.ListValEmpty(cty.Bool)
		}
		var vs []cty.Value
		for _, b := range bs {
			vs = append(vs, cty.BoolVal(b))
		}
		return cty.ListVal(vs)
	}
	for _, tc := range []struct {
		fn   string
		in   cty.Value
		want bool
	}{
		{"alltrue", list(true, true), true}, {"alltrue", list(true, false), false}, {"alltrue", list(), true},
		{"anytrue", list(false, true), true}, {"anytrue", list(false), false}, {"anytrue", list(), false},
	} {
		v, err := table[tc.fn].Call([]cty.Value{tc.in})
		if err != nil || v.True() != tc.want {
			t.Errorf("%s(%#v) = %v, %v", tc.fn, tc.in, v, err)
		}
	}
	v, _ := table["strcontains"].Call([]cty.Value{cty.StringVal("kernel loaded"), cty.StringVal("loaded")})
	if !v.True() {
		t.Error("strcontains")
	}
}

// index is Terraform's: the position of a value in a list.
func TestIndexFindsPosition(t *testing.T) {
	table := Table(Options{})
	list := cty.ListVal([]cty.Value{cty.StringVal("n1"), cty.StringVal("n2"), cty.StringVal("n3")})
	v, err := table["index"].Call([]cty.Value{list, cty.StringVal("n3")})
	if err != nil || !v.RawEquals(cty.NumberIntVal(2)) {
		t.Errorf("index(list, n3) = %#v, %v; want 2", v, err)
	}
	if _, err := table["index"].Call([]cty.Value{list, cty.StringVal("n9")}); err == nil {
		t.Error("index of a missing value gave no error")
	}
}
