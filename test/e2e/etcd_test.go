package e2e

import (
	"bufio"
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestSite deploys the whole site on the lab and checks it: one lab, one state directory,
// steps in order, each relying on the cluster the previous one left.
func TestSite(t *testing.T) {
	requireLab(t)
	s := sharedSite(t)

	t.Run("check mode on a fresh lab predicts and changes nothing", func(t *testing.T) {
		r := s.run("--check")
		if r.code != 0 {
			t.Fatalf("--check on a fresh lab:\n%s", r.dump())
		}
		if len(changedOn(r, "etcd : etcd unit")) != 3 {
			t.Errorf("--check does not predict the etcd unit on n1..n3:\n%s", r.dump())
		}
		if out := on(t, "n1", "ls /etc/systemd/system/etcd.service /usr/local/bin/etcd 2>&1 || true"); !strings.Contains(out, "No such file") {
			t.Errorf("--check wrote to n1: %s", out)
		}
		if _, err := os.Stat(filepath.Join(s.dir, "state/pki/ca.pem")); err == nil {
			t.Error("--check created the CA")
		}
	})

	t.Run("first run deploys a TLS etcd cluster", func(t *testing.T) {
		r := s.run()
		if r.code != 0 {
			t.Fatalf("first run failed:\n%s", r.dump())
		}
		health := s.etcdctl(t, "endpoint", "health", "--cluster")
		if n := strings.Count(health, "is healthy"); n != 3 {
			t.Fatalf("want 3 healthy endpoints, got %d:\n%s", n, health)
		}
		members := s.etcdctl(t, "member", "list")
		if n := len(strings.Split(strings.TrimSpace(members), "\n")); n != 3 {
			t.Fatalf("want 3 members, got %d:\n%s", n, members)
		}
		t.Logf("etcd health:\n%s", health)
	})

	t.Run("second run changes nothing and uploads nothing; check mode agrees", func(t *testing.T) {
		r := s.run("--check")
		if r.code != 0 {
			t.Fatalf("--check on the deployed lab:\n%s", r.dump())
		}
		for host, c := range r.recap.Counts {
			if c.Changed != 0 {
				t.Errorf("--check on a deployed lab: %s would change %d\n%s", host, c.Changed, r.dump())
			}
		}
		r = s.run()
		if r.code != 0 {
			t.Fatalf("re-run failed:\n%s", r.dump())
		}
		t.Logf("whole-site re-run: %s", time.Duration(r.recap.Duration).Round(time.Millisecond))
		for host, c := range r.recap.Counts {
			if c.Changed != 0 {
				t.Errorf("%s: changed=%d on a re-run\n%s", host, c.Changed, r.dump())
			}
		}
		if r.recap.Uploaded != 0 {
			t.Errorf("re-run uploaded %d bytes", r.recap.Uploaded)
		}
	})

	t.Run("secrets: keys private on the deploy host and nodes, CA keys only on the deploy host", func(t *testing.T) {
		s.secretsPrivate(t)
	})

	kubernetesChecks(t, s)

	t.Run("tags and limit select tasks and hosts", func(t *testing.T) {
		r := s.run("--tags", "pki")
		if r.code != 0 || len(r.results) == 0 {
			t.Fatalf("--tags pki:\n%s", r.dump())
		}
		for _, hr := range r.results {
			if !strings.HasPrefix(hr.Task, "pki : ") {
				t.Errorf("--tags pki ran %q on %s", hr.Task, hr.Host)
			}
		}
		r = s.run("--limit", "n2")
		if r.code != 0 || len(r.results) == 0 {
			t.Fatalf("--limit n2:\n%s", r.dump())
		}
		for _, hr := range r.results {
			if hr.Host != "n2" {
				t.Errorf("--limit n2 ran %q on %s", hr.Task, hr.Host)
			}
		}
	})

	t.Run("check and diff predict a unit change without touching nodes", func(t *testing.T) {
		before := unitState(t)
		s.extra = "  etcd_heartbeat_interval = 300\n"
		s.write()
		r := s.exec("run", filepath.Join(repo, "site.hcl"), "-i", s.inv, "--check", "--diff")
		if r.code != 0 {
			t.Fatalf("--check --diff:\n%s", r.dump())
		}
		for _, want := range []string{"-  --heartbeat-interval=250", "+  --heartbeat-interval=300", "changed: [n1]"} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("--check --diff output lacks %q:\n%s", want, r.stdout)
			}
		}
		if after := unitState(t); after != before {
			t.Fatalf("check mode touched a node:\nbefore %s\nafter  %s", before, after)
		}

		r = s.run()
		if r.code != 0 {
			t.Fatalf("run after the change:\n%s", r.dump())
		}
		restarted := changedOn(r, "etcd : restart etcd")
		if len(restarted) != 3 {
			t.Errorf("restart handler changed %v, want n1..n3\n%s", restarted, r.dump())
		}
		if after := unitState(t); after == before {
			t.Errorf("etcd was not restarted: %s", after)
		}
		s.etcdHealthy(t)
	})

	t.Run("a restart notified by a run that failed is done by the next run", func(t *testing.T) {
		before := unitState(t)
		s.extra = strings.Replace(s.extra, "etcd_heartbeat_interval = 300", "etcd_heartbeat_interval = 275", 1)
		s.write()
		// The unit changes, then the run is interrupted before its handlers.
		out := s.interruptAt(t, "etcd : start etcd")
		if strings.Contains(out, `"task":"etcd : restart etcd"`) {
			t.Fatalf("the handler ran in the interrupted run:\n%s", out)
		}
		if after := unitState(t); strings.Fields(after)[0] == strings.Fields(before)[0] {
			t.Fatalf("the unit did not change: %s", after)
		}
		r := s.run()
		if r.code != 0 {
			t.Fatalf("the next run:\n%s", r.dump())
		}
		if got := changedOn(r, "etcd : etcd unit"); len(got) != 0 {
			t.Errorf("the unit changed again: %v", got)
		}
		if got := changedOn(r, "etcd : restart etcd"); len(got) != 3 {
			t.Errorf("the pending restart ran on %v, want n1..n3\n%s", got, r.dump())
		}
		s.etcdHealthy(t)
	})

	t.Run("a deleted certificate is reissued alone by the unchanged CA", func(t *testing.T) {
		pki := filepath.Join(s.dir, "state/pki")
		ca := read(t, filepath.Join(pki, "ca.pem"))
		n1 := read(t, filepath.Join(pki, "etcd/n1-server.pem"))
		if err := os.Remove(filepath.Join(pki, "etcd/n2-server.pem")); err != nil {
			t.Fatal(err)
		}
		r := s.run()
		if r.code != 0 {
			t.Fatalf("run:\n%s", r.dump())
		}
		got := changedOn(r, "pki : etcd server certificates")
		if len(got) != 1 || !got["deploy/n2"] {
			t.Errorf("reissued %v, want only deploy/n2", got)
		}
		for task, hosts := range map[string]map[string]bool{
			"pki : cluster CA": changedOn(r, "pki : cluster CA"), "pki : etcd peer certificates": changedOn(r, "pki : etcd peer certificates"),
		} {
			if len(hosts) > 0 {
				t.Errorf("%s changed: %v", task, hosts)
			}
		}
		if !bytes.Equal(ca, read(t, filepath.Join(pki, "ca.pem"))) {
			t.Error("the CA changed")
		}
		if !bytes.Equal(n1, read(t, filepath.Join(pki, "etcd/n1-server.pem"))) {
			t.Error("n1's certificate changed")
		}
		cert := parseCert(t, []byte(on(t, "n2", "cat /etc/etcd/pki/server.pem")))
		if err := cert.CheckSignatureFrom(parseCert(t, ca)); err != nil {
			t.Errorf("n2's new certificate is not signed by the CA: %v", err)
		}
	})

	t.Run("a new SAN reissues server certificates and restarts etcd", func(t *testing.T) {
		before := unitState(t)
		s.extra += "  etcd_extra_sans = [\"etcd.lab.internal\", \"10.77.0.100\"]\n"
		s.write()
		r := s.run()
		if r.code != 0 {
			t.Fatalf("run:\n%s", r.dump())
		}
		if got := changedOn(r, "pki : etcd server certificates"); len(got) != 3 {
			t.Errorf("reissued %v, want all three server certificates", got)
		}
		if got := changedOn(r, "pki : etcd peer certificates"); len(got) != 0 {
			t.Errorf("peer certificates reissued: %v", got)
		}
		cert := parseCert(t, []byte(on(t, "n3", "cat /etc/etcd/pki/server.pem")))
		if !contains(cert.DNSNames, "etcd.lab.internal") || !hasIP(cert, "10.77.0.100") {
			t.Errorf("n3's certificate lacks the new SANs: %v %v", cert.DNSNames, cert.IPAddresses)
		}
		if after := unitState(t); after == before {
			t.Error("etcd was not restarted after its certificate changed")
		}
	})

	t.Run("host keys are checked", func(t *testing.T) {
		empty := filepath.Join(t.TempDir(), "known_hosts")
		os.WriteFile(empty, nil, 0o600)
		r := s.exec("run", filepath.Join(repo, "site.hcl"), "-i", s.inv, "--known-hosts", empty)
		all := r.stdout + r.stderr
		if r.code != 3 || !strings.Contains(all, "n1") || !strings.Contains(all, "--accept-new-host-keys") {
			t.Fatalf("unknown host key: want exit 3 naming n1 and the option:\n%s", r.dump())
		}
		r = s.exec("run", filepath.Join(repo, "site.hcl"), "-i", s.inv, "--known-hosts", empty, "--accept-new-host-keys")
		if r.code != 0 {
			t.Fatalf("accept-new run:\n%s", r.dump())
		}
		if n := strings.Count(string(read(t, empty)), "\n"); n != 3 {
			t.Errorf("accept-new recorded %d keys, want 3", n)
		}

		changed := filepath.Join(t.TempDir(), "known_hosts")
		key := filepath.Join(t.TempDir(), "k")
		if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key).CombinedOutput(); err != nil {
			t.Fatalf("ssh-keygen: %v %s", err, out)
		}
		pub := strings.Fields(string(read(t, key+".pub")))
		var kept []string
		for _, l := range strings.Split(strings.TrimSpace(string(read(t, empty))), "\n") {
			if strings.Contains(l, "10.77.0.11") {
				l = "10.77.0.11 " + pub[0] + " " + pub[1]
			}
			kept = append(kept, l)
		}
		os.WriteFile(changed, []byte(strings.Join(kept, "\n")+"\n"), 0o600)
		r = s.exec("run", filepath.Join(repo, "site.hcl"), "-i", s.inv, "--known-hosts", changed, "--accept-new-host-keys")
		all = r.stdout + r.stderr
		if r.code != 3 || !strings.Contains(all, "n1") || !strings.Contains(all, "SHA256:") {
			t.Fatalf("changed host key: want exit 3 naming n1 with a fingerprint:\n%s", r.dump())
		}
	})

	resilienceChecks(t, s)

	t.Run("a node without sshd is unreachable and the others finish", func(t *testing.T) {
		if out, err := labCmd("lab/lab.sh", "console", "n3", "systemctl", "stop", "ssh.service"); err != nil {
			t.Fatalf("stopping sshd: %v %s", err, out)
		}
		r := s.run()
		if _, err := labCmd("lab/lab.sh", "console", "n3", "systemctl", "start", "ssh.service"); err != nil {
			t.Fatalf("starting sshd: %v", err)
		}
		if r.code != 3 {
			t.Fatalf("want exit 3:\n%s", r.dump())
		}
		if c := r.recap.Counts["n3"]; c.Unreachable == 0 {
			t.Errorf("n3 not reported unreachable: %+v", c)
		}
		for _, h := range []string{"n1", "n2"} {
			if c := r.recap.Counts[h]; c.Failed+c.Unreachable != 0 || c.OK == 0 {
				t.Errorf("%s did not finish cleanly: %+v", h, c)
			}
		}
		r = s.run()
		if r.code != 0 {
			t.Fatalf("re-run after sshd is back:\n%s", r.dump())
		}
		for host, c := range r.recap.Counts {
			if c.Changed != 0 {
				t.Errorf("%s: changed=%d after sshd came back", host, c.Changed)
			}
		}
	})
}

// etcdctl runs the staged etcdctl on the deploy host against every member over TLS.
func (s *site) etcdctl(t *testing.T, args ...string) string {
	t.Helper()
	return s.etcdctlAt(t, "https://10.77.0.11:2379,https://10.77.0.12:2379,https://10.77.0.13:2379", args...)
}

// etcdctlAt is etcdctl against the given endpoints only.
func (s *site) etcdctlAt(t *testing.T, endpoints string, args ...string) string {
	t.Helper()
	pki := filepath.Join(s.dir, "state/pki")
	base := []string{
		"--endpoints=" + endpoints,
		"--cacert=" + filepath.Join(pki, "ca.pem"),
		"--cert=" + filepath.Join(pki, "etcd/client.pem"),
		"--key=" + filepath.Join(pki, "etcd/client-key.pem"),
	}
	out, err := exec.Command(filepath.Join(labDir, "stage/etcd/etcdctl"), append(base, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("etcdctl %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// unitState fingerprints etcd on every node: the unit file's checksum and when the service
// last started.
func unitState(t *testing.T) string {
	var parts []string
	for _, h := range []string{"n1", "n2", "n3"} {
		parts = append(parts, h+":"+on(t, h, "sha256sum /etc/systemd/system/etcd.service | cut -c1-12; systemctl show -p ActiveEnterTimestampMonotonic --value etcd"))
	}
	return strings.Join(parts, " ")
}

func read(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func hasIP(c *x509.Certificate, ip string) bool {
	for _, a := range c.IPAddresses {
		if a.String() == ip {
			return true
		}
	}
	return false
}

// interruptAt runs kplay and sends it SIGINT as soon as the named task starts, returning
// its output; it must exit 99.
func (s *site) interruptAt(t *testing.T, task string) string {
	t.Helper()
	cmd := exec.Command(kplay, "run", filepath.Join(repo, "site.hcl"), "-i", s.inv, "--output", "json")
	cmd.Dir = repo
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	sc := bufio.NewScanner(stdout)
	sent := false
	for sc.Scan() {
		line := sc.Text()
		out.WriteString(line + "\n")
		if !sent && strings.Contains(line, `"type":"task"`) && strings.Contains(line, `"name":"`+strings.TrimPrefix(task, "etcd : ")+`"`) {
			cmd.Process.Signal(os.Interrupt)
			sent = true
		}
	}
	err = cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 99 || !sent {
		t.Fatalf("interrupting at %q: sent %v, %v\n%s", task, sent, err, out.String())
	}
	return out.String()
}

// etcdHealthy waits for all three members to report healthy: right after members restart
// together, one may still be catching up with the new leader for a few seconds.
func (s *site) etcdHealthy(t *testing.T) {
	t.Helper()
	pki := filepath.Join(s.dir, "state/pki")
	eventually(t, 60*time.Second, func() string {
		out, _ := exec.Command(filepath.Join(labDir, "stage/etcd/etcdctl"),
			"--endpoints=https://10.77.0.11:2379,https://10.77.0.12:2379,https://10.77.0.13:2379",
			"--cacert="+filepath.Join(pki, "ca.pem"), "--cert="+filepath.Join(pki, "etcd/client.pem"),
			"--key="+filepath.Join(pki, "etcd/client-key.pem"), "endpoint", "health", "--cluster").CombinedOutput()
		if strings.Count(string(out), "is healthy") != 3 {
			return "etcd cluster:\n" + string(out)
		}
		return ""
	})
}

// secretsPrivate checks every private key and credential kplay made: mode 0600 (or
// stricter) in the state directory and on the nodes, and no CA key anywhere on a node, as a
// file, inside another file, or base64-encoded in a kubeconfig.
func (s *site) secretsPrivate(t *testing.T) {
	t.Helper()
	secret := regexp.MustCompile(`PRIVATE KEY|client-key-data|token:`)
	var caKeys [][]byte
	state := filepath.Join(s.dir, "state")
	filepath.Walk(state, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() || info.Size() > 1<<20 {
			return nil
		}
		b, _ := os.ReadFile(p)
		if !secret.Match(b) {
			return nil
		}
		if info.Mode().Perm()&0o077 != 0 {
			t.Errorf("deploy host: %s holds a secret with mode %o", p, info.Mode().Perm())
		}
		if strings.HasSuffix(p, "ca-key.pem") {
			caKeys = append(caKeys, b)
		}
		return nil
	})
	if len(caKeys) == 0 {
		t.Fatalf("no CA key found in %s", state)
	}
	// Where the roles put files, and where stray copies would land.
	dirs := "/etc /root /home /tmp /usr/local /opt /var/lib/kubelet /var/lib/kube-proxy /var/lib/kplay"
	for _, n := range []string{"n1", "n2", "n3"} {
		listing := on(t, n, "grep -rlIE -e 'PRIVATE KEY' -e 'client-key-data' -e 'token:' "+dirs+
			" 2>/dev/null | xargs -r stat -c '%a %U %n'")
		count := 0
		for _, line := range strings.Split(listing, "\n") {
			f := strings.Fields(line)
			if len(f) != 3 {
				continue
			}
			count++
			mode, _ := strconv.ParseUint(f[0], 8, 32)
			if mode&0o077 != 0 || f[1] != "root" {
				t.Errorf("%s: %s holds a secret with mode %s, owner %s", n, f[2], f[0], f[1])
			}
		}
		if count < 5 {
			t.Errorf("%s: only %d secret files found; the search is broken:\n%s", n, count, listing)
		}
		for _, key := range caKeys {
			lines := strings.Split(string(key), "\n")
			inner := lines[1] // the first base64 line of the key itself
			// base64 of the whole PEM, from a point inside the key material: its header and
			// ASN.1 prefix are the same for every key of a type.
			all := base64.StdEncoding.EncodeToString(key)
			from := len(all) / 3 / 4 * 4
			encoded := all[from : from+40]
			if out := on(t, n, "grep -rlIF -e "+shellQuote(inner)+" -e "+shellQuote(encoded)+" "+dirs+" /var/lib/etcd 2>/dev/null || true"); out != "" {
				t.Errorf("%s: a CA key is on the node:\n%s", n, out)
			}
		}
	}
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
