package fetch

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// A download killed mid-way leaves its temporary file; the next download of the same
// destination removes it, but never one that a living process still holds.
func TestDownloadRemovesAbandonedTemporaryFiles(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src.bin")
	os.WriteFile(src, []byte("payload"), 0o644)
	dest := filepath.Join(dir, "stage", "dl.bin")
	os.MkdirAll(filepath.Dir(dest), 0o755)
	abandoned := filepath.Join(dir, "stage", ".dl.bin.kplay-111")
	inUse := filepath.Join(dir, "stage", ".dl.bin.kplay-222")
	other := filepath.Join(dir, "stage", ".other.bin.kplay-333")
	for _, p := range []string{abandoned, inUse, other} {
		os.WriteFile(p, []byte("partial"), 0o600)
	}
	// Locks are per open file: this one stands for another kplay still downloading.
	h, err := hold(inUse)
	if err != nil {
		t.Fatal(err)
	}
	defer h.release()

	req := Request{URL: "file://" + src, SHA256: sum("payload"), Dest: dest}
	if _, err := Download(context.Background(), req, false); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(dest); string(b) != "payload" {
		t.Fatalf("dest holds %q", b)
	}
	if _, err := os.Stat(abandoned); !os.IsNotExist(err) {
		t.Error("the abandoned temporary file is still there")
	}
	for _, p := range []string{inUse, other} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s was removed: %v", filepath.Base(p), err)
		}
	}
	// Check mode removes nothing.
	os.WriteFile(abandoned, []byte("partial"), 0o600)
	if _, err := Download(context.Background(), req, true); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(abandoned); err != nil {
		t.Error("check mode removed a file")
	}
}

// A directory replacement cut short between its two renames leaves dest missing and its
// previous content in the trash: the sweep puts it back instead of deleting it.
func TestSweepRestoresAnInterruptedReplacement(t *testing.T) {
	dir := t.TempDir()
	dest := filepath.Join(dir, "unpacked")
	trash := filepath.Join(dir, ".unpacked.kplay-old-999")
	os.MkdirAll(filepath.Join(trash, "previous"), 0o755)
	os.WriteFile(filepath.Join(trash, "previous", "kubelet"), []byte("binary"), 0o755)
	newDir := filepath.Join(dir, ".unpacked.kplay-new-998")
	os.MkdirAll(newDir, 0o755)

	sweepAbandoned(dest)
	if b, err := os.ReadFile(filepath.Join(dest, "kubelet")); err != nil || string(b) != "binary" {
		t.Fatalf("previous content not restored: %q %v", b, err)
	}
	for _, p := range []string{trash, newDir} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s left: %v", filepath.Base(p), err)
		}
	}
}
