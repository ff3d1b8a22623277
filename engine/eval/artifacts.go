package eval

import (
	"fmt"
	"path"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/kplay-dev/kplay/engine/fetch"
)

// artifacts makes var.artifacts: the pinned artifacts with the inventory's overrides (the
// `artifacts` variable, per artifact: version, url, sha256, sha512) and the `mirror`
// variable's prefix rewrites applied. An artifact whose version is overridden loses its
// pinned checksums: a checksum belongs to one file, and downloading without one is refused.
func (e *Env) artifacts(vals map[string]cty.Value) (cty.Value, hcl.Diagnostics) {
	over := objectMap(vals["artifacts"])
	mirrors := stringMap(vals["mirror"])
	out := map[string]cty.Value{}
	var diags hcl.Diagnostics
	for _, a := range e.Pins.Artifacts {
		o := objectMap(over[a.Name])
		version := str(o["version"], a.Version)
		sha256, sha512 := a.SHA256, a.SHA512
		if version != a.Version {
			sha256, sha512 = "", ""
		}
		url := str(o["url"], "")
		if url == "" {
			v, d := a.URL.Value(&hcl.EvalContext{Variables: map[string]cty.Value{"version": cty.StringVal(version)}})
			diags = append(diags, d...)
			if d.HasErrors() || v.Type() != cty.String {
				continue
			}
			url = v.AsString()
		}
		url = fetch.RewriteURL(url, mirrors)
		unpack := cty.NullVal(cty.Object(map[string]cty.Type{"strip_components": cty.Number}))
		if a.StripComponents >= 0 {
			unpack = cty.ObjectVal(map[string]cty.Value{"strip_components": cty.NumberIntVal(int64(a.StripComponents))})
		}
		out[a.Name] = cty.ObjectVal(map[string]cty.Value{
			"name":    cty.StringVal(a.Name),
			"version": cty.StringVal(version),
			"url":     cty.StringVal(url),
			"file":    cty.StringVal(path.Base(url)),
			"sha256":  cty.StringVal(str(o["sha256"], sha256)),
			"sha512":  cty.StringVal(str(o["sha512"], sha512)),
			"unpack":  unpack,
		})
	}
	for name := range over {
		if _, ok := out[name]; !ok {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Unknown artifact",
				Detail:   fmt.Sprintf("The artifacts variable overrides %q, which no artifact block pins.", name),
			})
		}
	}
	return cty.ObjectVal(out), diags
}

func (e *Env) images(vals map[string]cty.Value) cty.Value {
	over := objectMap(vals["images"])
	out := map[string]cty.Value{}
	for _, img := range e.Pins.Images {
		o := objectMap(over[img.Name])
		out[img.Name] = cty.ObjectVal(map[string]cty.Value{
			"ref":     cty.StringVal(str(o["ref"], img.Ref)),
			"version": cty.StringVal(str(o["version"], img.Version)),
		})
	}
	return cty.ObjectVal(out)
}

func objectMap(v cty.Value) map[string]cty.Value {
	if v == cty.NilVal || v.IsNull() || !v.IsKnown() {
		return nil
	}
	if v.Type().IsObjectType() || v.Type().IsMapType() {
		return v.AsValueMap()
	}
	return nil
}

func stringMap(v cty.Value) map[string]string {
	out := map[string]string{}
	for k, x := range objectMap(v) {
		if s := str(x, ""); s != "" {
			out[k] = s
		}
	}
	return out
}

func str(v cty.Value, def string) string {
	if v == cty.NilVal || v.IsNull() || !v.IsKnown() || v.Type() != cty.String {
		return def
	}
	return v.AsString()
}
