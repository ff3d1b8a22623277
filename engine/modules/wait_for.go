package modules

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/kplay-dev/kplay/engine/config"
)

func init() { Register(waitForModule{}) }

// waitForModule waits, on the host, until a TCP port accepts connections or a URL answers
// with a success status. It runs on the host because what matters is what the host sees:
// a service bound to 127.0.0.1 answers only there.
type waitForModule struct{}

func (waitForModule) Spec() *config.ModuleSpec {
	return &config.ModuleSpec{
		Name: "wait_for",
		Args: []config.ArgSpec{
			{Name: "port", Type: cty.Number, Doc: "TCP port that must accept connections."},
			{Name: "host", Type: cty.String, Doc: "Address for port; default 127.0.0.1."},
			{Name: "url", Type: cty.String, Doc: "HTTP(S) URL that must answer 2xx."},
			{Name: "ca_cert", Type: cty.String, AbsPath: true, Doc: "CA bundle to verify the URL's server with."},
			{Name: "client_cert", Type: cty.String, AbsPath: true, Doc: "Client certificate for the URL."},
			{Name: "client_key", Type: cty.String, AbsPath: true, Doc: "Client key for the URL."},
			{Name: "timeout", Type: cty.String, Doc: "How long to wait; default \"60s\"."},
			{Name: "validate_certs", Type: cty.Bool, Doc: "Verify the URL's server certificate; default true. Components that make their own serving certificate (controller-manager, scheduler) need false."},
		},
		Validate: func(t *config.Task) hcl.Diagnostics {
			if (t.Args["port"] == nil) == (t.Args["url"] == nil) {
				return argError(t, "port", "wait_for takes exactly one of port and url.")
			}
			return nil
		},
	}
}

const waitScript = `
end=$(( $(date +%s) + TIMEOUT ))
probe() {
  if [ -n "$URL" ]; then
    set -- -fsS -o /dev/null --max-time 3
    [ -n "$CA" ] && set -- "$@" --cacert "$CA"
    [ -n "$CERT" ] && set -- "$@" --cert "$CERT" --key "$KEY"
    [ "$INSECURE" = 1 ] && set -- "$@" --insecure
    curl "$@" "$URL" 2>/tmp/.kplay-wait.$$
  else
    timeout 3 bash -c 'exec 3<>/dev/tcp/'"$HOST/$PORT" 2>/tmp/.kplay-wait.$$
  fi
}
while :; do
  if probe; then rm -f /tmp/.kplay-wait.$$; exit 0; fi
  if [ "$(date +%s)" -ge "$end" ]; then
    echo "still not answering after $TIMEOUT s: $(cat /tmp/.kplay-wait.$$ 2>/dev/null)" >&2
    rm -f /tmp/.kplay-wait.$$; exit 1
  fi
  sleep 1
done
`

func (waitForModule) Run(ctx context.Context, c *Call) (*Result, error) {
	timeout, err := time.ParseDuration(c.Args.String("timeout", "60s"))
	if err != nil {
		return nil, fmt.Errorf("timeout: %w", err)
	}
	if c.Check {
		return &Result{Skipped: true, Msg: "check mode: not waited for"}, nil
	}
	vars := map[string]string{
		"URL": c.Args.String("url", ""), "HOST": c.Args.String("host", "127.0.0.1"),
		"PORT": fmt.Sprint(c.Args.Int("port", 0)), "CA": c.Args.String("ca_cert", ""),
		"CERT": c.Args.String("client_cert", ""), "KEY": c.Args.String("client_key", ""),
		"TIMEOUT":  fmt.Sprint(int(timeout.Seconds())),
		"INSECURE": boolFlag(!c.Args.Bool("validate_certs", true)),
	}
	if _, err := runScript(ctx, c, vars, waitScript); err != nil {
		what := vars["URL"]
		if what == "" {
			what = vars["HOST"] + ":" + vars["PORT"]
		}
		return nil, fmt.Errorf("waiting for %s: %s", what, strings.TrimSpace(err.Error()))
	}
	return &Result{}, nil
}
