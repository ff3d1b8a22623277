package modules

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kplay-dev/kplay/engine/connection"
	"github.com/kplay-dev/kplay/engine/connection/local"
)

// countReads makes readSum count the files it reads, for the rest of the test.
func countReads(t *testing.T) *atomic.Int64 {
	var reads atomic.Int64
	readSum = func(p string) (string, error) {
		reads.Add(1)
		return hashFile(p)
	}
	t.Cleanup(func() { readSum = hashFile })
	return &reads
}

// sourceSum is the checksum fileSource gives for the deploy-host file p, with memo.
func sourceSum(t *testing.T, p string, memo *FileMemo) string {
	t.Helper()
	src, err := fileSource(p, memo)
	if err != nil {
		t.Fatal(err)
	}
	sum, err := src.checksum(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return sum
}

// Hosts uploading one file at the same time share one reading of it, and a changed file
// is read again.
func TestFileSourceHashesOncePerVersion(t *testing.T) {
	reads := countReads(t)

	p := filepath.Join(t.TempDir(), "kube-apiserver")
	data := []byte("pretend this is 120 MB")
	os.WriteFile(p, data, 0o755)
	want := sha256.Sum256(data)

	var wg sync.WaitGroup
	sums := make([]string, 16)
	for i := range sums {
		wg.Add(1)
		go func() {
			defer wg.Done()
			src, err := fileSource(p, nil)
			if err != nil {
				t.Error(err)
				return
			}
			sums[i], err = src.checksum(context.Background())
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	for _, s := range sums {
		if s != hex.EncodeToString(want[:]) {
			t.Fatalf("checksum %q, want %x", s, want)
		}
	}
	if n := reads.Load(); n != 1 {
		t.Errorf("16 concurrent callers read the file %d times, want 1", n)
	}

	os.WriteFile(p, []byte("a new version"), 0o755)
	os.Chtimes(p, time.Now(), time.Now().Add(time.Minute))
	sum := sourceSum(t, p, nil)
	if want := sha256.Sum256([]byte("a new version")); sum != hex.EncodeToString(want[:]) || reads.Load() != 2 {
		t.Errorf("after a change: sum %s, %d reads", sum, reads.Load())
	}
}

// The probe hashes the host's file only when its size could match: a file of another size
// differs whatever its content, and reading it would only cost time.
func TestProbeHashesOnlyWhenSizesMatch(t *testing.T) {
	dir := t.TempDir()
	target := NewTarget("deploy", local.New(), true, "root", &Probe{})
	target.Memo = NewFileMemo()
	p := filepath.Join(dir, "f")

	st, err := probe(context.Background(), target, p, 5)
	if err != nil || st.exists || !st.dirOK {
		t.Fatalf("absent file: %+v %v", st, err)
	}
	os.WriteFile(p, []byte("four"), 0o644)
	if st, err = probe(context.Background(), target, p, 5); err != nil || !st.exists || st.sum != "size" {
		t.Errorf("4-byte file probed for 5 bytes: %+v %v, want sum \"size\"", st, err)
	}
	want := sha256.Sum256([]byte("four"))
	if st, err = probe(context.Background(), target, p, 4); err != nil || st.sum != hex.EncodeToString(want[:]) {
		t.Errorf("same size: %+v %v, want the sha256", st, err)
	}
}

// A deploy-host file whose stamp matches the memo is not read at all; rewritten in place
// with its size and modification time put back, its change time differs, and it is read.
func TestFileSourceTrustsTheMemoOnlyForTheSameStamp(t *testing.T) {
	reads := countReads(t)
	p := filepath.Join(t.TempDir(), "etcd")
	os.WriteFile(p, []byte("version 1"), 0o755)
	memo := NewFileMemo()
	first := sourceSum(t, p, memo)
	b, dirty := memo.Marshal()
	if !dirty || !strings.Contains(string(b), first) {
		t.Fatalf("the checksum read was not recorded: %s", b)
	}
	hashCache.Clear() // as a new process would start
	memo = LoadFileMemo(b)
	if sum := sourceSum(t, p, memo); sum != first || reads.Load() != 1 {
		t.Errorf("with a matching stamp: sum %s after %d reads, want the memo's without reading", sum, reads.Load())
	}

	st, _ := os.Stat(p)
	time.Sleep(10 * time.Millisecond) // a change time the filesystem can tell apart
	os.WriteFile(p, []byte("version 2"), 0o755)
	os.Chtimes(p, st.ModTime(), st.ModTime())
	want := sha256.Sum256([]byte("version 2"))
	if sum := sourceSum(t, p, memo); sum != hex.EncodeToString(want[:]) {
		t.Errorf("rewritten in place with size and mtime kept: sum %s, want the new content's", sum)
	}
}

// Within one run too, a source rewritten in place between two tasks is read again, and a
// checksum read while the file changed is not remembered for its new stamp.
func TestFileSourceNoticesARewriteDuringTheRun(t *testing.T) {
	p := filepath.Join(t.TempDir(), "gen.txt")
	os.WriteFile(p, []byte("value=1111"), 0o644)
	memo := NewFileMemo()
	first := sourceSum(t, p, memo)
	st, _ := os.Stat(p)
	time.Sleep(10 * time.Millisecond)
	os.WriteFile(p, []byte("value=2222"), 0o644)
	os.Chtimes(p, st.ModTime(), st.ModTime())
	want := sha256.Sum256([]byte("value=2222"))
	if got := sourceSum(t, p, memo); got == first || got != hex.EncodeToString(want[:]) {
		t.Errorf("after a same-size, same-mtime rewrite: %s, want the new content's", got)
	}

	// The file changes while it is read: the checksum is used once, never remembered.
	readSum = func(path string) (string, error) {
		sum, err := hashFile(path)
		time.Sleep(10 * time.Millisecond)
		os.WriteFile(path, []byte("value=3333"), 0o644)
		return sum, err
	}
	t.Cleanup(func() { readSum = hashFile })
	memo = NewFileMemo()
	os.WriteFile(p, []byte("value=4444"), 0o644)
	sourceSum(t, p, memo)
	if b, _ := memo.Marshal(); strings.Contains(string(b), p) {
		t.Errorf("a checksum read while the file changed was remembered: %s", b)
	}
}

// The sweep removes the entries of the runs it is given, and nothing else: not another
// process's upload in flight, not a file that merely looks alike, nothing below the top.
func TestSweepStagesCommandRemovesOnlyTheDeadRunsEntries(t *testing.T) {
	dir := t.TempDir()
	dead, alive := connection.StagePrefix+"deadbeef0001-", connection.StagePrefix+"a11ve0000002-"
	for _, name := range []string{dead + "x", dead + "y", alive + "z", ".kplay-tmp", "keep"} {
		os.MkdirAll(filepath.Join(dir, name), 0o700)
		os.WriteFile(filepath.Join(dir, name, "data"), []byte("d"), 0o600)
	}
	os.MkdirAll(filepath.Join(dir, "sub", dead+"deep"), 0o700)
	out, err := exec.Command("sh", "-c", SweepStagesCommand([]string{dir, filepath.Join(dir, "missing")}, []string{"deadbeef0001", "0000000000ff"})).CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	var left []string
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		left = append(left, e.Name())
	}
	if got := strings.Join(left, " "); got != ".kplay-tmp "+alive+"z keep sub" {
		t.Errorf("left %q", got)
	}
	if _, err := os.Stat(filepath.Join(dir, "sub", dead+"deep")); err != nil {
		t.Error("the sweep went below the directory")
	}
}
