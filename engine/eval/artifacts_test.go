package eval

import (
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/kplay-dev/kplay/engine/fetch"
)

const pinsFile = `
artifact "etcd" {
  version = "3.4.23"
  url     = "https://github.com/etcd-io/etcd/releases/download/v${version}/etcd-v${version}-linux-amd64.tar.gz"
  sha256  = "aaaa"
  unpack  = { strip_components = 1 }
}
artifact "kubectl" {
  version = "1.24.6"
  url     = "https://dl.k8s.io/release/v${version}/bin/linux/amd64/kubectl"
  sha512  = "bbbb"
}
image "pause" {
  ref     = "registry.k8s.io/pause:3.7"
  version = "3.7"
}
`

// artifactsFor loads a project whose inventory vars are invVars and returns var.artifacts
// on n1 as Go strings: artifact -> attribute -> value.
func artifactsFor(t *testing.T, invVars string) (map[string]map[string]string, string) {
	t.Helper()
	p := loadProject(t, fixture{
		"hosts.hcl":     "vars = {\n" + invVars + "\n}\nhost \"n1\" {}\n",
		"site.hcl":      "play \"site\" {\n  hosts = \"all\"\n}\n",
		"artifacts.hcl": pinsFile,
	})
	v, diags := p.vars(t, p.env(nil), "n1")
	out := map[string]map[string]string{}
	for name, a := range v.Values["artifacts"].AsValueMap() {
		out[name] = map[string]string{}
		for k, x := range a.AsValueMap() {
			switch {
			case x.IsNull():
				out[name][k] = "null"
			case x.Type() == cty.String:
				out[name][k] = x.AsString()
			case k == "unpack":
				out[name][k] = x.GetAttr("strip_components").AsBigFloat().String()
			}
		}
	}
	return out, diags.Error()
}

func TestArtifacts(t *testing.T) {
	tests := []struct {
		name    string
		vars    string
		want    map[string]map[string]string
		wantErr string
	}{
		{
			name: "pinned",
			want: map[string]map[string]string{
				"etcd": {
					"version": "3.4.23", "sha256": "aaaa", "sha512": "", "unpack": "1",
					"url":  "https://github.com/etcd-io/etcd/releases/download/v3.4.23/etcd-v3.4.23-linux-amd64.tar.gz",
					"file": "etcd-v3.4.23-linux-amd64.tar.gz",
				},
				"kubectl": {
					"version": "1.24.6", "sha512": "bbbb", "unpack": "null", "file": "kubectl",
					"url": "https://dl.k8s.io/release/v1.24.6/bin/linux/amd64/kubectl",
				},
			},
		},
		{
			name: "version override drops the pinned checksums",
			vars: `artifacts = { etcd = { version = "3.5.6" }, kubectl = { version = "1.25.0" } }`,
			want: map[string]map[string]string{
				"etcd": {
					"version": "3.5.6", "sha256": "",
					"url": "https://github.com/etcd-io/etcd/releases/download/v3.5.6/etcd-v3.5.6-linux-amd64.tar.gz",
				},
				"kubectl": {"version": "1.25.0", "sha512": ""},
			},
		},
		{
			name: "same version keeps the checksum",
			vars: `artifacts = { etcd = { version = "3.4.23" } }`,
			want: map[string]map[string]string{"etcd": {"sha256": "aaaa"}},
		},
		{
			name: "override with its own checksum and url",
			vars: `artifacts = { etcd = { version = "3.5.6", sha256 = "cccc", url = "http://files.lan/etcd.tgz" } }`,
			want: map[string]map[string]string{
				"etcd": {"sha256": "cccc", "url": "http://files.lan/etcd.tgz", "file": "etcd.tgz"},
			},
		},
		{
			name: "longest mirror prefix wins",
			vars: `mirror = {
  "https://github.com/"          = "http://mirror.lan/github/"
  "https://github.com/etcd-io/"  = "http://mirror.lan/etcd/"
  "https://dl.k8s.io/"           = "http://mirror.lan/k8s/"
}`,
			want: map[string]map[string]string{
				"etcd":    {"url": "http://mirror.lan/etcd/etcd/releases/download/v3.4.23/etcd-v3.4.23-linux-amd64.tar.gz", "sha256": "aaaa"},
				"kubectl": {"url": "http://mirror.lan/k8s/release/v1.24.6/bin/linux/amd64/kubectl"},
			},
		},
		{
			name: "mirror applies to an overridden version",
			vars: `artifacts = { etcd = { version = "3.5.6" } }
mirror = { "https://github.com/" = "http://m/" }`,
			want: map[string]map[string]string{
				"etcd": {"url": "http://m/etcd-io/etcd/releases/download/v3.5.6/etcd-v3.5.6-linux-amd64.tar.gz"},
			},
		},
		{
			name:    "unknown artifact",
			vars:    `artifacts = { etdc = { version = "1" } }`,
			wantErr: `overrides "etdc", which no artifact block pins`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, errText := artifactsFor(t, tt.vars)
			if tt.wantErr != "" {
				if !strings.Contains(errText, tt.wantErr) {
					t.Errorf("error %q, want %q", errText, tt.wantErr)
				}
				return
			}
			if errText != "no diagnostics" && errText != "" {
				t.Fatalf("unexpected diagnostics: %s", errText)
			}
			for name, attrs := range tt.want {
				for k, w := range attrs {
					if got[name][k] != w {
						t.Errorf("%s.%s = %q, want %q", name, k, got[name][k], w)
					}
				}
			}
		})
	}
}

func TestImagesOverride(t *testing.T) {
	p := loadProject(t, fixture{
		"hosts.hcl":     "vars = { images = { pause = { ref = \"mirror.lan/pause:3.8\" } } }\nhost \"n1\" {}\n",
		"site.hcl":      "play \"site\" {\n  hosts = \"all\"\n}\n",
		"artifacts.hcl": pinsFile,
	})
	v, _ := p.vars(t, p.env(nil), "n1")
	pause := v.Values["images"].GetAttr("pause")
	if got := pause.GetAttr("ref").AsString(); got != "mirror.lan/pause:3.8" {
		t.Errorf("ref = %q", got)
	}
	if got := pause.GetAttr("version").AsString(); got != "3.7" {
		t.Errorf("version = %q", got)
	}
}

func TestRewriteURL(t *testing.T) {
	mirrors := map[string]string{
		"https://a.example/":     "http://m/a/",
		"https://a.example/x/":   "http://m/x/",
		"https://a.example/x/y/": "http://m/y/",
	}
	tests := []struct{ in, want string }{
		{"https://a.example/f", "http://m/a/f"},
		{"https://a.example/x/f", "http://m/x/f"},
		{"https://a.example/x/y/f", "http://m/y/f"},
		{"https://b.example/x/f", "https://b.example/x/f"},
	}
	for _, tt := range tests {
		if got := fetch.RewriteURL(tt.in, mirrors); got != tt.want {
			t.Errorf("RewriteURL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if got := fetch.RewriteURL("https://a.example/f", nil); got != "https://a.example/f" {
		t.Errorf("no mirrors: %q", got)
	}
}
