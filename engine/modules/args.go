package modules

import (
	"fmt"
	"io/fs"

	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/gocty"
)

// Args are a call's evaluated arguments, already converted to the types the module's spec
// declares. Absent arguments are missing from the map.
type Args map[string]cty.Value

// Has reports whether the argument was given and is not null.
func (a Args) Has(name string) bool {
	v, ok := a[name]
	return ok && !v.IsNull()
}

// String returns the argument or def.
func (a Args) String(name, def string) string {
	if !a.Has(name) {
		return def
	}
	return a[name].AsString()
}

// Bool returns the argument or def.
func (a Args) Bool(name string, def bool) bool {
	if !a.Has(name) {
		return def
	}
	return a[name].True()
}

// Int returns the argument or def.
func (a Args) Int(name string, def int) int {
	if !a.Has(name) {
		return def
	}
	f, _ := a[name].AsBigFloat().Int64()
	return int(f)
}

// Strings returns a list-of-strings argument.
func (a Args) Strings(name string) []string {
	if !a.Has(name) {
		return nil
	}
	var out []string
	if err := gocty.FromCtyValue(a[name], &out); err != nil {
		return nil
	}
	return out
}

// StringMap returns a map-of-strings argument.
func (a Args) StringMap(name string) map[string]string {
	if !a.Has(name) {
		return nil
	}
	out := map[string]string{}
	for k, v := range a[name].AsValueMap() {
		if !v.IsNull() {
			out[k] = v.AsString()
		}
	}
	return out
}

// Mode parses an octal mode argument written as a string, "0644".
func (a Args) Mode(name string, def uint32) (uint32, error) {
	if !a.Has(name) {
		return def, nil
	}
	return parseMode(a[name].AsString())
}

func parseMode(s string) (uint32, error) {
	var m uint32
	if s == "" {
		return 0, fmt.Errorf("empty mode")
	}
	for _, r := range s {
		if r < '0' || r > '7' {
			return 0, fmt.Errorf("mode %q is not octal: write it as a string such as \"0644\"", s)
		}
		m = m*8 + uint32(r-'0')
	}
	if m > 0o7777 {
		return 0, fmt.Errorf("mode %q is out of range", s)
	}
	return m, nil
}

func modeOf(m uint32) fs.FileMode { return fs.FileMode(m) }
