package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Bad command-line options exit 5 with a message naming the option, before any host.
func TestBadOptions(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "hosts.hcl"), []byte(deployOnly), 0o644)
	os.WriteFile(filepath.Join(dir, "site.hcl"), []byte("play \"p\" {\n  hosts = \"all\"\n  task \"t\" {\n    debug { msg = \"hi\" }\n  }\n}\n"), 0o644)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--forks", "0"}, "--forks"},
		{[]string{"--limit", "zz*"}, "matches no host"},
		{[]string{"--limit", "deploi"}, `did you mean "deploy"`},
		{[]string{"--tags", "nosuch"}, `no task has the tag "nosuch"`},
		{[]string{"-o", "yaml"}, "--output"},
		{[]string{"--no-such-flag"}, "unknown flag"},
		{[]string{"-e", "a-b=1"}, "-e"},
	} {
		r := runKplay(t, dir, append([]string{"run", "site.hcl", "-i", "hosts.hcl"}, tc.args...)...)
		if r.code != 5 || !strings.Contains(r.stdout+r.stderr, tc.want) {
			t.Errorf("%v: exit %d, want 5 and %q in:\n%s%s", tc.args, r.code, tc.want, r.stdout, r.stderr)
		}
	}
	if r := runKplay(t, dir, "run", "site.hcl", "-i", "hosts.hcl"); r.code != 0 {
		t.Errorf("the valid run: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

// --list-tasks with --tags shows exactly the tasks that would run, touching no host: the lab
// inventory's hosts do not exist while this runs.
func TestListTasks(t *testing.T) {
	r := runKplay(t, "../..", "run", "site.hcl", "-i", "inventories/lab/hosts.hcl", "--list-tasks", "--tags", "pki")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	var tasks []string
	for _, line := range strings.Split(r.stdout, "\n") {
		if name, ok := strings.CutPrefix(strings.TrimSpace(line), "task "); ok {
			name, _, _ = strings.Cut(name, "  ")
			tasks = append(tasks, strings.TrimSpace(name))
		}
	}
	ca, apiserver := -1, -1
	for i, name := range tasks {
		if !strings.HasPrefix(name, "pki : ") {
			t.Errorf("--list-tasks --tags pki listed %q", name)
		}
		switch name {
		case "pki : cluster CA":
			ca = i
		case "pki : apiserver certificate":
			apiserver = i
		}
	}
	if ca < 0 || apiserver < ca {
		t.Errorf("the CA must come before the certificates it signs: %q", tasks)
	}
	r = runKplay(t, "../..", "run", "site.hcl", "-i", "inventories/lab/hosts.hcl", "--list-hosts", "--limit", "n2")
	if r.code != 0 || strings.Count(r.stdout, "  host ") != strings.Count(r.stdout, "  host n2") || !strings.Contains(r.stdout, "  host n2") {
		t.Errorf("--list-hosts --limit n2:\n%s%s", r.stdout, r.stderr)
	}
}

// validate --json has terraform validate -json's shape and exits 4 when invalid.
func TestValidateJSON(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "hosts.hcl"), []byte(deployOnly), 0o644)
	os.WriteFile(filepath.Join(dir, "site.hcl"), []byte("play \"p\" {\n  hosts = \"all\"\n  gather_fact = true\n}\n"), 0o644)
	r := runKplay(t, dir, "validate", "site.hcl", "-i", "hosts.hcl", "--json")
	var res struct {
		FormatVersion string `json:"format_version"`
		Valid         bool   `json:"valid"`
		ErrorCount    int    `json:"error_count"`
		Diagnostics   []struct {
			Severity, Summary string
			Range             struct {
				Filename string
				Start    struct{ Line int }
			}
		}
	}
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, r.stdout)
	}
	if r.code != 4 || res.Valid || res.ErrorCount != 1 || res.FormatVersion != "1.0" || len(res.Diagnostics) != 1 ||
		res.Diagnostics[0].Summary != "Unsupported argument" || res.Diagnostics[0].Range.Start.Line != 3 ||
		res.Diagnostics[0].Range.Filename != "site.hcl" || res.Diagnostics[0].Severity != "error" {
		t.Errorf("exit %d, %+v", r.code, res)
	}
	os.WriteFile(filepath.Join(dir, "site.hcl"), []byte("play \"p\" {\n  hosts = \"all\"\n}\n"), 0o644)
	r = runKplay(t, dir, "validate", "site.hcl", "-i", "hosts.hcl", "--json")
	if r.code != 0 || !strings.Contains(r.stdout, `"valid": true`) || !strings.Contains(r.stdout, `"diagnostics": []`) {
		t.Errorf("valid playbook: exit %d\n%s", r.code, r.stdout)
	}
}

// kplay facts gathers a host's facts, caches them, and shows the cache while it is fresh.
func TestFactsCommand(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "hosts.hcl"), []byte(deployOnly), 0o644)
	var rep struct {
		Host, Source string
		Facts        struct {
			Hostname string `json:"hostname"`
			Kernel   string `json:"kernel"`
		}
	}
	for i, want := range []string{"gathered", "cache"} {
		r := runKplay(t, dir, "facts", "deploy", "-i", "hosts.hcl")
		if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil || r.code != 0 {
			t.Fatalf("call %d: exit %d, %v\n%s%s", i, r.code, err, r.stdout, r.stderr)
		}
		if rep.Source != want || rep.Host != "deploy" || rep.Facts.Hostname == "" || rep.Facts.Kernel == "" {
			t.Errorf("call %d: %+v, want source %s and facts", i, rep, want)
		}
	}
	r := runKplay(t, dir, "facts", "deploy", "-i", "hosts.hcl", "--refresh")
	if json.Unmarshal([]byte(r.stdout), &rep); rep.Source != "gathered" {
		t.Errorf("--refresh: source %s", rep.Source)
	}
	if r := runKplay(t, dir, "facts", "nope", "-i", "hosts.hcl"); r.code != 5 {
		t.Errorf("unknown host: exit %d", r.code)
	}
}
