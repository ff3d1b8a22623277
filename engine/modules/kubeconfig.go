package modules

import (
	"context"
	"fmt"
	"os"

	"github.com/zclconf/go-cty/cty"

	"github.com/kplay-dev/kplay/engine/config"
	"github.com/kplay-dev/kplay/engine/pki"
)

func init() {
	Register(kubeconfigModule{})
	Register(keypairModule{})
}

// kubeconfigModule writes a self-contained kubeconfig (CA, certificate and key embedded) on
// the deploy host, 0600, only when its content would change.
type kubeconfigModule struct{}

func (kubeconfigModule) Spec() *config.ModuleSpec {
	return &config.ModuleSpec{Name: "kubeconfig", Args: []config.ArgSpec{
		{Name: "dest", Type: cty.String, Required: true, AbsPath: true, Doc: "The kubeconfig file to write."},
		{Name: "server", Type: cty.String, Required: true, Doc: "API server URL, https://HOST:PORT."},
		{Name: "cluster", Type: cty.String, Required: true, Doc: "Cluster name."},
		{Name: "user", Type: cty.String, Required: true, Doc: "User name."},
		{Name: "ca_cert", Type: cty.String, Required: true, AbsPath: true, Doc: "CA certificate to trust."},
		{Name: "cert", Type: cty.String, Required: true, AbsPath: true, Doc: "Client certificate."},
		{Name: "key", Type: cty.String, Required: true, AbsPath: true, Doc: "Client key."},
	}}
}

func (kubeconfigModule) Run(_ context.Context, c *Call) (*Result, error) {
	if err := onDeployHost(c); err != nil {
		return nil, err
	}
	a := c.Args
	var files [3][]byte
	for i, name := range []string{"ca_cert", "cert", "key"} {
		b, err := os.ReadFile(a.String(name, ""))
		if err != nil {
			if c.Check && os.IsNotExist(err) {
				return &Result{Changed: true, Msg: "check mode: " + name + " does not exist yet"}, nil
			}
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		files[i] = b
	}
	content := pki.Kubeconfig(a.String("server", ""), a.String("cluster", ""), a.String("user", ""), files[0], files[1], files[2])
	d, err := pki.EnsureFile(a.String("dest", ""), content, 0o600, c.Check)
	if err != nil {
		return nil, err
	}
	return &Result{Changed: d.Changed, Msg: d.Reason}, nil
}

// keypairModule keeps a private key and its public key on the deploy host, for signing
// service-account tokens. An existing key is never replaced.
type keypairModule struct{}

func (keypairModule) Spec() *config.ModuleSpec {
	return &config.ModuleSpec{Name: "keypair", Args: []config.ArgSpec{
		{Name: "key", Type: cty.String, Required: true, AbsPath: true, Doc: "Private key (PEM, 0600)."},
		{Name: "pub", Type: cty.String, Required: true, AbsPath: true, Doc: "Public key (PKIX PEM)."},
	}}
}

func (keypairModule) Run(_ context.Context, c *Call) (*Result, error) {
	if err := onDeployHost(c); err != nil {
		return nil, err
	}
	d, err := pki.EnsureKeyPair(c.Args.String("key", ""), c.Args.String("pub", ""), c.Check)
	if err != nil {
		return nil, err
	}
	return &Result{Changed: d.Changed, Msg: d.Reason}, nil
}
