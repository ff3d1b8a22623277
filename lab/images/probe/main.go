// Command probe is the lab's test workload: a static binary in a one-layer image that the
// nodes import offline. Started in a pod, it resolves a name through the cluster DNS, calls
// the API server through the kubernetes service with the pod's service-account CA, prints
// one line per check, and then stays up so the pod keeps Running:
//
//	dns kubernetes.default.svc.cluster.local 10.68.0.1
//	api https://kubernetes.default.svc/readyz 200
//
// A failed check prints "FAIL" and the reason and is retried, so a pod started before
// coredns was ready still reports success once it is.
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

const caFile = "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt"

func main() {
	name := envOr("PROBE_NAME", "kubernetes.default.svc.cluster.local")
	url := envOr("PROBE_URL", "https://kubernetes.default.svc/readyz")
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	for !check(ctx, name, url) {
		select {
		case <-ctx.Done():
			return
		case <-time.After(2 * time.Second):
		}
	}
	<-ctx.Done()
}

func check(ctx context.Context, name, url string) bool {
	addrs, err := net.DefaultResolver.LookupHost(ctx, name)
	if err != nil {
		fmt.Println("dns", name, "FAIL", err)
		return false
	}
	fmt.Println("dns", name, strings.Join(addrs, ","))
	code, err := get(ctx, url)
	if err != nil {
		fmt.Println("api", url, "FAIL", err)
		return false
	}
	fmt.Println("api", url, code)
	return code == http.StatusOK
}

func get(ctx context.Context, url string) (int, error) {
	pool := x509.NewCertPool()
	if pem, err := os.ReadFile(caFile); err == nil {
		pool.AppendCertsFromPEM(pem)
	}
	client := &http.Client{
		Timeout:   5 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}
