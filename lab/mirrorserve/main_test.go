package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
)

func TestCheckAddr(t *testing.T) {
	tests := []struct {
		addr string
		ok   bool
	}{
		{"127.0.0.1:8080", true},
		{"127.8.9.10:0", true},
		{"10.77.0.1:8080", true},
		{"10.77.0.254:80", true},
		{"[::ffff:127.0.0.1]:80", true},
		{"10.77.1.1:8080", false},
		{"10.78.0.1:8080", false},
		{"0.0.0.0:8080", false},
		{":8080", false},
		{"[::]:8080", false},
		{"[::1]:8080", false},
		{"localhost:8080", false},
		{"192.168.1.1:8080", false},
		{"127.0.0.1", false},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			err := checkAddr(tt.addr)
			if tt.ok && err != nil {
				t.Fatalf("checkAddr(%q) = %v, want nil", tt.addr, err)
			}
			if !tt.ok {
				var ae *AddrError
				if !errors.As(err, &ae) || ae.Addr != tt.addr {
					t.Fatalf("checkAddr(%q) = %v, want *AddrError", tt.addr, err)
				}
			}
		})
	}
}

func TestRunRefusesBeforeListening(t *testing.T) {
	err := run(context.Background(), "0.0.0.0:0", t.TempDir())
	var ae *AddrError
	if !errors.As(err, &ae) {
		t.Fatalf("run on 0.0.0.0 = %v, want *AddrError", err)
	}
	if err := run(context.Background(), "127.0.0.1:0", filepath.Join(t.TempDir(), "none")); err == nil {
		t.Fatal("run with a missing directory succeeded")
	}
}

func TestServeFilesUnderTheirPaths(t *testing.T) {
	dir := t.TempDir()
	rel := "github.com/etcd-io/etcd/releases/download/v3.4.23/etcd-v3.4.23-linux-amd64.tar.gz"
	want := []byte("not really a tarball\x00\x01")
	if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, rel)), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, rel), want, 0o644); err != nil {
		t.Fatal(err)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, ln, dir) }()

	base := "http://" + ln.Addr().String() + "/"
	if got := get(t, base+rel, http.StatusOK); !bytes.Equal(got, want) {
		t.Fatalf("body = %q, want %q", got, want)
	}
	get(t, base+"missing.tar.gz", http.StatusNotFound)

	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serve after cancel = %v, want nil", err)
	}
}

func get(t *testing.T, url string, status int) []byte {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != status {
		t.Fatalf("GET %s: status %d, want %d", url, resp.StatusCode, status)
	}
	return body
}
