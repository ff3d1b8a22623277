package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A file verified once is trusted while its size, times and inode stay the same (the rsync
// quick check), and checked again as soon as one of them moves: even a rewrite in place
// that puts the size and modification time back, since the change time moves anyway.
func TestVerifiedFilesAreRemembered(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	writeLocalPlay(t, dir, "site.hcl", `  task "file" {
    copy {
      content = "aaaa"
      dest    = "`+out+`"
    }
  }
`)
	run := func(want string) {
		t.Helper()
		r := runKplay(t, dir, "run", "site.hcl", "-i", "hosts.hcl")
		if r.code != 0 || !strings.Contains(r.stdout, want+": [deploy]") {
			t.Fatalf("want %s:\n%s%s", want, r.stdout, r.stderr)
		}
	}
	run("changed") // created
	run("ok")      // hashed once, remembered
	memo, err := os.ReadFile(filepath.Join(dir, "state/uploads/deploy.json"))
	if err != nil || !strings.Contains(string(memo), out) {
		t.Fatalf("no memo of %s: %v %s", out, err, memo)
	}

	// Rewritten in place, with the same size and the old modification time put back.
	st, _ := os.Stat(out)
	time.Sleep(10 * time.Millisecond) // a change time the filesystem can tell apart
	f, _ := os.OpenFile(out, os.O_WRONLY, 0)
	f.WriteString("bbbb")
	f.Close()
	os.Chtimes(out, st.ModTime(), st.ModTime())
	run("changed")
	if b, _ := os.ReadFile(out); string(b) != "aaaa" {
		t.Errorf("content %q, want aaaa", b)
	}
	run("ok") // remembered again

	// --flush-cache forgets the memo: the file is hashed again, and found right.
	if r := runKplay(t, dir, "run", "site.hcl", "-i", "hosts.hcl", "--flush-cache"); r.code != 0 || !strings.Contains(r.stdout, "ok: [deploy]") {
		t.Fatalf("--flush-cache: exit %d\n%s", r.code, r.stdout)
	}
}

// --diff of a file too large to show says whether it is new or changed.
func TestDiffOfALargeFileSaysNewOrChanged(t *testing.T) {
	dir := t.TempDir()
	src, dest := filepath.Join(dir, "big.src"), filepath.Join(dir, "big")
	os.WriteFile(src, make([]byte, 300<<10), 0o644)
	writeLocalPlay(t, dir, "site.hcl", `  task "big" {
    copy {
      src  = "`+src+`"
      dest = "`+dest+`"
    }
  }
`)
	if r := runKplay(t, dir, "run", "site.hcl", "-i", "hosts.hcl", "--check", "--diff"); !strings.Contains(r.stdout, "new file (307200 bytes, too large to show)") {
		t.Errorf("absent destination:\n%s%s", r.stdout, r.stderr)
	}
	os.WriteFile(dest, []byte("old"), 0o644)
	if r := runKplay(t, dir, "run", "site.hcl", "-i", "hosts.hcl", "--check", "--diff"); !strings.Contains(r.stdout, "content differs (307200 bytes, too large to show)") {
		t.Errorf("existing destination:\n%s%s", r.stdout, r.stderr)
	}
}
