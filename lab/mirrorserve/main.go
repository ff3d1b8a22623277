// Command mirrorserve serves the lab's artifact mirror, a directory of files laid out like their
// upstream URLs, over plain HTTP. It only serves: lab/mirror.sh builds the files and their
// SHA256SUMS, and kplay's fetcher verifies checksums. It listens on loopback or the lab bridge
// only, so a lab run never offers files to any other network.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// allowedNets are the only networks the server may listen on: loopback and the lab bridge.
var allowedNets = []netip.Prefix{
	netip.MustParsePrefix("127.0.0.0/8"),
	netip.MustParsePrefix("10.77.0.0/24"),
}

// AddrError reports a listen address outside the allowed networks.
type AddrError struct {
	Addr   string
	Reason string
}

func (e *AddrError) Error() string {
	return fmt.Sprintf("listen address %q refused: %s", e.Addr, e.Reason)
}

func main() {
	addr := flag.String("addr", "10.77.0.1:8080", "host:port to listen on (127.0.0.0/8 or 10.77.0.0/24)")
	dir := flag.String("dir", "", "directory to serve")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *addr, *dir); err != nil {
		fmt.Fprintln(os.Stderr, "mirrorserve:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, addr, dir string) error {
	if err := checkAddr(addr); err != nil {
		return err
	}
	if err := checkDir(dir); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	slog.Info("serving", "addr", ln.Addr().String(), "dir", dir)
	return serve(ctx, ln, dir)
}

// checkAddr accepts only an IP literal inside allowedNets: a host name or an empty host would
// let the resolver or the kernel pick an interface we never meant to expose.
func checkAddr(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return &AddrError{Addr: addr, Reason: err.Error()}
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return &AddrError{Addr: addr, Reason: "host must be an IP address"}
	}
	ip = ip.Unmap()
	for _, p := range allowedNets {
		if p.Contains(ip) {
			return nil
		}
	}
	return &AddrError{Addr: addr, Reason: "not in 127.0.0.0/8 or 10.77.0.0/24"}
}

func checkDir(dir string) error {
	if dir == "" {
		return errors.New("-dir is required")
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("mirror directory: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("mirror directory %s: not a directory", dir)
	}
	return nil
}

// serve answers on ln until ctx ends, then lets requests in flight finish.
func serve(ctx context.Context, ln net.Listener, dir string) error {
	srv := &http.Server{
		Handler:           logRequests(http.FileServer(http.Dir(dir))),
		ReadHeaderTimeout: 10 * time.Second,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()

	select {
	case err := <-errc:
		return fmt.Errorf("serve %s: %w", ln.Addr(), err)
	case <-ctx.Done():
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(shutdown); err != nil {
			return fmt.Errorf("shutdown: %w", err)
		}
		return nil
	}
}

// statusRecorder keeps the status code so the request log can show misses.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

func logRequests(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		h.ServeHTTP(rec, req)
		slog.Info("request", "method", req.Method, "path", req.URL.Path,
			"status", rec.status, "remote", req.RemoteAddr)
	})
}
