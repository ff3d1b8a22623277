package funcs

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

// fuzzScope is a fixed scope shaped like a task's: var, host, groups and hosts, with the
// whole function table, file functions reading from dir.
func fuzzScope(dir string) *hcl.EvalContext {
	n1 := cty.ObjectVal(map[string]cty.Value{
		"name": cty.StringVal("n1"), "address": cty.StringVal("10.0.0.11"),
		"groups": cty.ListVal([]cty.Value{cty.StringVal("etcd")}),
	})
	return &hcl.EvalContext{
		Variables: map[string]cty.Value{
			"var": cty.ObjectVal(map[string]cty.Value{
				"port":  cty.NumberIntVal(2379),
				"name":  cty.StringVal("etcd"),
				"tls":   cty.True,
				"list":  cty.ListVal([]cty.Value{cty.StringVal("a"), cty.StringVal("b")}),
				"map":   cty.MapVal(map[string]cty.Value{"k": cty.StringVal("v")}),
				"empty": cty.NullVal(cty.String),
			}),
			"host":   n1,
			"hosts":  cty.ObjectVal(map[string]cty.Value{"n1": n1}),
			"groups": cty.ObjectVal(map[string]cty.Value{"etcd": cty.ListVal([]cty.Value{cty.StringVal("n1")})}),
		},
		Functions: Table(Options{BaseDir: dir}),
	}
}

// FuzzTemplate renders arbitrary template bytes in a fixed scope. It must never panic; a
// success must be a known, non-null string, since callers read it with AsString; and a
// template without any ${ or %{ sequence is its own text (in NFC).
func FuzzTemplate(f *testing.F) {
	dir := f.TempDir()
	inc := []byte("included ${x}\n")
	if err := os.WriteFile(filepath.Join(dir, "inc.tmpl"), inc, 0o644); err != nil {
		f.Fatal(err)
	}
	f.Add([]byte("${var.name}:${var.port}\n"))
	f.Add(deepTemplate(100000))
	f.Add([]byte("${tostring(null)}"))
	ctx := fuzzScope(dir)
	f.Fuzz(func(t *testing.T, src []byte) {
		v, err := RenderTemplate(src, "fuzz.tmpl", ctx)
		if err != nil {
			// A deep template must be refused before the parser recurses; bytes that are not
			// UTF-8 are refused before nesting is counted, which is as safe.
			if nesting(src) > 10000 && utf8.Valid(src) && !strings.Contains(err.Error(), "Nesting too deep") {
				t.Fatalf("deep template refused for another reason: %v", err)
			}
			return
		}
		if !v.IsKnown() || v.IsNull() || v.Type() != cty.String || v.IsMarked() {
			t.Fatalf("RenderTemplate(%q) succeeded with %#v, not a known string", src, v)
		}
		// Every cty string is in Unicode NFC, so plain text renders as its NFC form.
		out := v.AsString()
		plain := cty.StringVal(string(src)).AsString()
		if utf8.Valid(src) && !bytes.ContainsAny(src, "$%") && out != plain {
			t.Fatalf("RenderTemplate(%q) = %q; plain text must render as itself, %q", src, out, plain)
		}
	})
}

// deepTemplate is one interpolation of a list nested depth times, as a generated file
// could hold.
func deepTemplate(depth int) []byte {
	return []byte("${" + strings.Repeat("[", depth) + strings.Repeat("]", depth) + "}")
}

// nesting is how deeply brackets nest in src, counted without regard to strings: an upper
// bound of what the parser recurses through.
func nesting(src []byte) int {
	depth, deepest := 0, 0
	for _, b := range src {
		switch b {
		case '[', '(', '{':
			depth++
			deepest = max(deepest, depth)
		case ']', ')', '}':
			depth--
		}
	}
	return deepest
}
