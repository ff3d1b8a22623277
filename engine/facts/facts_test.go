package facts

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/kplay-dev/kplay/engine/connection"
	"github.com/kplay-dev/kplay/engine/connection/conntest"
)

// sampleOutput is what the gather script prints on a small Debian VM.
const sampleOutput = "hostname\tn1\n" +
	"fqdn\tn1.lab\n" +
	"os_id\tdebian\n" +
	"os_version\t12\n" +
	"kernel\t6.1.0-18-amd64\n" +
	"arch\tx86_64\n" +
	"cpus\t4\n" +
	"memory_kb\t4026532\n" +
	"address\t10.77.0.11\n" +
	"address\t172.17.0.1\n" +
	"default_ipv4\t10.77.0.11\n" +
	"default_interface\thost0\n" +
	"init\tsystemd\n" +
	"machine_id\t0123456789abcdef\n" +
	"virtualization\tsystemd-nspawn\n" +
	"user\troot\n" +
	"swap_on\t0\n" +
	"module\toverlay\n" +
	"module\tbr_netfilter\n" +
	"garbage line without a tab\n" +
	"unknown_key\tignored\n" +
	"can_lower_oom\t1\n" +
	"done\t1\n"

var sampleFacts = &Facts{
	Hostname: "n1", FQDN: "n1.lab", OSID: "debian", OSVersion: "12", Kernel: "6.1.0-18-amd64",
	Arch: "x86_64", CPUs: 4, MemoryMB: 3932, Addresses: []string{"10.77.0.11", "172.17.0.1"},
	DefaultIPv4: "10.77.0.11", DefaultIf: "host0", Init: "systemd", MachineID: "0123456789abcdef",
	CanLowerOOMScore: true, Virtualization: "systemd-nspawn", User: "root", Swap: false,
	Modules: []string{"overlay", "br_netfilter"},
}

func TestParse(t *testing.T) {
	got, err := parse([]byte(sampleOutput))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, sampleFacts) {
		t.Errorf("parse =\n%+v\nwant\n%+v", got, sampleFacts)
	}
}

func TestParseEdgeCases(t *testing.T) {
	if _, err := parse([]byte("hostname\tn1\ncpus\t4\n")); err == nil || !strings.Contains(err.Error(), "cut short") {
		t.Errorf("output without done: err = %v", err)
	}
	f, err := parse([]byte("hostname\t\nos_id\t\ncpus\tmany\nswap_on\t1\ndone\t1\n"))
	if err != nil {
		t.Fatal(err)
	}
	if f.Hostname != "" || f.CPUs != 0 || !f.Swap || f.Addresses != nil {
		t.Errorf("parse of sparse output = %+v", f)
	}
	f, _ = parse([]byte("hostname\tweird\tname\ndone\t1\n"))
	if f.Hostname != "weird\tname" {
		t.Errorf("a value containing a tab was cut: %q", f.Hostname)
	}
}

func TestGatherRunsTheScriptOnStdin(t *testing.T) {
	h := conntest.New("n1")
	h.Handle(func(_ context.Context, _ *conntest.Host, c conntest.Command) (connection.Result, error) {
		if c.Line != "sh -s" || !strings.Contains(c.Stdin, "p done 1") {
			return connection.Result{ExitCode: 2, Stderr: []byte("unexpected")}, nil
		}
		return connection.Result{Stdout: []byte(sampleOutput)}, nil
	})
	got, err := Gather(context.Background(), h)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, sampleFacts) {
		t.Errorf("Gather = %+v", got)
	}
	if n := len(h.Calls()); n != 1 {
		t.Errorf("Gather made %d calls, want one round trip", n)
	}
}

func TestGatherFailures(t *testing.T) {
	h := conntest.New("n1")
	h.Handle(func(context.Context, *conntest.Host, conntest.Command) (connection.Result, error) {
		return connection.Result{ExitCode: 1, Stderr: []byte("sh: awk: not found\n")}, nil
	})
	if _, err := Gather(context.Background(), h); err == nil || !strings.Contains(err.Error(), "awk: not found") {
		t.Errorf("failed script: err = %v", err)
	}
	h.SetUnreachable(errors.New("reset by peer"))
	if _, err := Gather(context.Background(), h); !connection.IsUnreachable(err) {
		t.Errorf("lost host: err = %v, want unreachable", err)
	}
}

func TestCacheStoreLoad(t *testing.T) {
	c := &Cache{Dir: filepath.Join(t.TempDir(), "facts"), TTL: time.Hour}
	if f, _ := c.Load("n1", "10.0.0.1"); f != nil {
		t.Fatal("empty cache returned facts")
	}
	if err := c.Store("n1", "10.0.0.1", sampleFacts); err != nil {
		t.Fatal(err)
	}
	f, age := c.Load("n1", "10.0.0.1")
	if !reflect.DeepEqual(f, sampleFacts) {
		t.Errorf("Load = %+v", f)
	}
	if age < 0 || age > time.Hour {
		t.Errorf("age = %s", age)
	}
	if f, _ := c.Load("n1", "10.0.0.2"); f != nil {
		t.Error("facts cached for another address were used")
	}
	if f, _ := c.Load("n2", "10.0.0.1"); f != nil {
		t.Error("facts of another host were used")
	}
	st, err := os.Stat(c.Dir)
	if err != nil || st.Mode().Perm() != 0o700 {
		t.Errorf("cache dir mode = %v, %v", st.Mode(), err)
	}
}

// writeEntry puts a cache file as an older or foreign kplay might have left it.
func writeEntry(t *testing.T, c *Cache, host string, e entry) {
	t.Helper()
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(c.Dir, 0o700)
	if err := os.WriteFile(c.path(host), b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestCacheInvalidation(t *testing.T) {
	now := time.Now()
	tests := []struct {
		name  string
		entry *entry
		raw   string
		use   bool
	}{
		{name: "fresh", entry: &entry{Schema: SchemaVersion, Address: "a", Gathered: now.Add(-time.Minute), Facts: sampleFacts}, use: true},
		{name: "older than TTL", entry: &entry{Schema: SchemaVersion, Address: "a", Gathered: now.Add(-2 * time.Hour), Facts: sampleFacts}},
		{name: "from the future", entry: &entry{Schema: SchemaVersion, Address: "a", Gathered: now.Add(time.Hour), Facts: sampleFacts}},
		{name: "other schema", entry: &entry{Schema: SchemaVersion + 1, Address: "a", Gathered: now, Facts: sampleFacts}},
		{name: "other address", entry: &entry{Schema: SchemaVersion, Address: "b", Gathered: now, Facts: sampleFacts}},
		{name: "no facts", entry: &entry{Schema: SchemaVersion, Address: "a", Gathered: now}},
		{name: "corrupt", raw: `{"schema": 1, "address": "a", "gath`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &Cache{Dir: t.TempDir(), TTL: time.Hour}
			if tt.entry != nil {
				writeEntry(t, c, "n1", *tt.entry)
			} else {
				os.WriteFile(c.path("n1"), []byte(tt.raw), 0o600)
			}
			f, _ := c.Load("n1", "a")
			if (f != nil) != tt.use {
				t.Errorf("Load used the cache: %v, want %v", f != nil, tt.use)
			}
		})
	}
}

func TestCacheWriteIsAtomicAndFlushes(t *testing.T) {
	c := &Cache{Dir: t.TempDir(), TTL: time.Hour}
	for i := 0; i < 3; i++ {
		if err := c.Store("n1", "a", sampleFacts); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Store("n2", "b", sampleFacts); err != nil {
		t.Fatal(err)
	}
	if got := dirNames(t, c.Dir); got != "n1.json,n2.json" {
		t.Errorf("cache dir holds %s, want only the two host files", got)
	}

	// A store that cannot rename leaves neither the old file damaged nor a temp file.
	if err := os.Mkdir(c.path("n3"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := c.Store("n3", "c", sampleFacts); err == nil {
		t.Error("Store over a directory succeeded")
	}
	if got := dirNames(t, c.Dir); got != "n1.json,n2.json,n3.json" {
		t.Errorf("after a failed store the dir holds %s", got)
	}
	os.Remove(c.path("n3"))

	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	if got := dirNames(t, c.Dir); got != "" {
		t.Errorf("after Flush the dir holds %s", got)
	}
	if f, _ := c.Load("n1", "a"); f != nil {
		t.Error("facts survived Flush")
	}
}

func dirNames(t *testing.T, dir string) string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return strings.Join(names, ",")
}
