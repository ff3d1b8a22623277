package modules

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Hosts uploading one file at the same time share one reading of it, and a changed file
// is read again.
func TestFileSourceHashesOncePerVersion(t *testing.T) {
	var reads atomic.Int64
	readSum = func(p string) (string, error) {
		reads.Add(1)
		return hashFile(p)
	}
	t.Cleanup(func() { readSum = hashFile })

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
			src, err := fileSource(p)
			if err != nil {
				t.Error(err)
				return
			}
			sums[i] = src.sum
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
	src, err := fileSource(p)
	if err != nil {
		t.Fatal(err)
	}
	if want := sha256.Sum256([]byte("a new version")); src.sum != hex.EncodeToString(want[:]) || reads.Load() != 2 {
		t.Errorf("after a change: sum %s, %d reads", src.sum, reads.Load())
	}
}
