package modules

import (
	"context"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/kplay-dev/kplay/engine/config"
	"github.com/kplay-dev/kplay/engine/fetch"
	"github.com/kplay-dev/kplay/engine/pki"
)

func init() {
	Register(downloadModule{})
	Register(unarchiveModule{})
	Register(pkiModule{})
}

// onDeployHost refuses a module that works on the deploy host's own files when the task
// runs elsewhere: these modules run inside kplay, not through a connection.
func onDeployHost(c *Call) error {
	if c.Target.Local {
		return nil
	}
	return fmt.Errorf("module %s works on the deploy host's files and %s is not the deploy host "+
		"(connection = \"local\"); run the task on the deploy host or add delegate_to", c.Task.Module, c.Target.Name)
}

// downloadModule fetches an artifact onto the deploy host, verified against its checksum.
type downloadModule struct{}

func (downloadModule) Spec() *config.ModuleSpec {
	return &config.ModuleSpec{Name: "download", Args: []config.ArgSpec{
		{Name: "url", Type: cty.String, Required: true, Doc: "http, https or file URL (after mirror rewriting)."},
		{Name: "sha256", Type: cty.String, Doc: "Expected sha256 in hex; this or sha512 is mandatory."},
		{Name: "sha512", Type: cty.String, Doc: "Expected sha512 in hex, for files upstream pins only that way."},
		{Name: "dest", Type: cty.String, AbsPath: true, Required: true, Doc: "File to create on the deploy host."},
		{Name: "mode", Type: cty.String, Doc: "Octal mode; default \"0644\"."},
	}, Validate: validateDownload}
}

// validateDownload checks what is literal: the mode, and each checksum's length and digits,
// so a mistyped pin stops the run before any host is touched rather than at its task.
func validateDownload(t *config.Task) hcl.Diagnostics {
	diags := validateMode(t, "mode")
	for name, length := range map[string]int{"sha256": 64, "sha512": 128} {
		at := t.Args[name]
		if at == nil || len(at.Expr.Variables()) > 0 {
			continue
		}
		var s string
		if d := config.DecodeLiteral(at, &s); d.HasErrors() {
			diags = append(diags, d...)
			continue
		}
		if _, err := hex.DecodeString(s); err != nil || len(s) != length {
			diags = append(diags, argError(t, name, fmt.Sprintf("%q is not a %s checksum: want %d hexadecimal digits.", s, name, length))...)
		}
	}
	return diags
}

func (downloadModule) Run(ctx context.Context, c *Call) (*Result, error) {
	if err := onDeployHost(c); err != nil {
		return nil, err
	}
	mode, err := c.Args.Mode("mode", 0o644)
	if err != nil {
		return nil, err
	}
	req := fetch.Request{URL: c.Args.String("url", ""), SHA256: c.Args.String("sha256", ""),
		SHA512: c.Args.String("sha512", ""), Dest: c.Args.String("dest", ""), Mode: modeOf(mode)}
	if req.SHA256 == "" && req.SHA512 == "" {
		return nil, fmt.Errorf("no checksum for %s: kplay downloads nothing it cannot verify; pin its sha256 in the inventory's artifacts variable", req.URL)
	}
	if req.SHA256 != "" && req.SHA512 != "" {
		req.SHA512 = "" // both pinned: one verified checksum is enough, and sha256 is the usual one
	}
	d, err := fetch.Download(ctx, req, c.Check)
	if err != nil {
		return nil, err
	}
	return &Result{Changed: d.Changed, Msg: d.Reason}, nil
}

// unarchiveModule unpacks an archive on the deploy host, refusing members that would land
// outside the destination.
type unarchiveModule struct{}

func (unarchiveModule) Spec() *config.ModuleSpec {
	return &config.ModuleSpec{Name: "unarchive", Args: []config.ArgSpec{
		{Name: "src", Type: cty.String, AbsPath: true, Required: true, Doc: "Archive on the deploy host (.tar, .tar.gz, .tgz, .zip)."},
		{Name: "dest", Type: cty.String, AbsPath: true, Required: true, Doc: "Directory that will hold exactly the archive's content."},
		{Name: "strip_components", Type: cty.Number, Doc: "Leading path components to drop."},
	}}
}

func (unarchiveModule) Run(ctx context.Context, c *Call) (*Result, error) {
	if err := onDeployHost(c); err != nil {
		return nil, err
	}
	d, err := fetch.Unarchive(ctx, fetch.UnarchiveRequest{
		Src: c.Args.String("src", ""), Dest: c.Args.String("dest", ""),
		StripComponents: c.Args.Int("strip_components", 0),
	}, c.Check)
	if err != nil {
		return nil, err
	}
	return &Result{Changed: d.Changed, Msg: d.Reason}, nil
}

// pkiModule keeps a CA or a certificate signed by it on the deploy host. A valid CA is never
// replaced; a leaf is reissued only when missing, expiring, signed by another CA, or no
// longer matching what is asked (subject, SANs, usages).
type pkiModule struct{}

func (pkiModule) Spec() *config.ModuleSpec {
	return &config.ModuleSpec{Name: "pki", Args: []config.ArgSpec{
		{Name: "is_ca", Type: cty.Bool, Doc: "Make (or keep) a CA at cert/key instead of a leaf."},
		{Name: "cert", Type: cty.String, AbsPath: true, Required: true, Doc: "Certificate file (PEM)."},
		{Name: "key", Type: cty.String, AbsPath: true, Required: true, Doc: "Private key file (PEM, 0600)."},
		{Name: "ca_cert", Type: cty.String, AbsPath: true, Doc: "The signing CA's certificate, for a leaf."},
		{Name: "ca_key", Type: cty.String, AbsPath: true, Doc: "The signing CA's key, for a leaf."},
		{Name: "common_name", Type: cty.String, Required: true, Doc: "Subject CN."},
		{Name: "organization", Type: cty.List(cty.String), Doc: "Subject O (Kubernetes groups)."},
		{Name: "dns_names", Type: cty.List(cty.String), Doc: "DNS SANs."},
		{Name: "ip_addresses", Type: cty.List(cty.String), Doc: "IP SANs."},
		{Name: "server", Type: cty.Bool, Doc: "Server authentication usage."},
		{Name: "client", Type: cty.Bool, Doc: "Client authentication usage."},
		{Name: "valid_days", Type: cty.Number, Doc: "Validity of a new certificate."},
		{Name: "renew_before_days", Type: cty.Number, Doc: "Reissue when expiring within this many days; default 30."},
	}, Validate: validatePKI}
}

func validatePKI(t *config.Task) hcl.Diagnostics {
	var isCA bool
	if at := t.Args["is_ca"]; at != nil && len(at.Expr.Variables()) == 0 {
		config.DecodeLiteral(at, &isCA)
	}
	if !isCA && (t.Args["ca_cert"] == nil || t.Args["ca_key"] == nil) {
		return argError(t, "ca_cert", "A leaf certificate needs ca_cert and ca_key (or set is_ca = true).")
	}
	return nil
}

func (pkiModule) Run(ctx context.Context, c *Call) (*Result, error) {
	if err := onDeployHost(c); err != nil {
		return nil, err
	}
	days := func(name string) time.Duration { return time.Duration(c.Args.Int(name, 0)) * 24 * time.Hour }
	a := c.Args
	if a.Bool("is_ca", false) {
		_, d, err := pki.EnsureCA(pki.CAOptions{CertPath: a.String("cert", ""), KeyPath: a.String("key", ""),
			CommonName: a.String("common_name", ""), ValidFor: days("valid_days")}, c.Check)
		if err != nil {
			return nil, err
		}
		return &Result{Changed: d.Changed, Msg: d.Reason}, nil
	}
	ca, d, err := pki.EnsureCA(pki.CAOptions{CertPath: a.String("ca_cert", ""), KeyPath: a.String("ca_key", "")}, c.Check)
	if err != nil {
		return nil, err
	}
	if ca == nil {
		// Check mode before the CA exists: every certificate would be issued.
		return &Result{Changed: true, Msg: "would be issued by the new CA (" + d.Reason + ")"}, nil
	}
	ips, err := pki.ParseIPs(a.Strings("ip_addresses"))
	if err != nil {
		return nil, err
	}
	req := pki.CertRequest{
		Name: a.String("common_name", ""), CertPath: a.String("cert", ""), KeyPath: a.String("key", ""),
		CommonName: a.String("common_name", ""), Organization: a.Strings("organization"),
		DNSNames: a.Strings("dns_names"), IPAddresses: ips,
		Server: a.Bool("server", false), Client: a.Bool("client", false),
		ValidFor: days("valid_days"), RenewBefore: days("renew_before_days"),
	}
	dc, err := ca.EnsureCert(req, c.Check)
	if err != nil {
		return nil, err
	}
	return &Result{Changed: dc.Changed, Msg: dc.Reason}, nil
}
