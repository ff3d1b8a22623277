package fetch

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// Temporary entries (a download in progress, an archive being unpacked, the previous
// content of a directory being replaced) sit beside their destination under a name that
// starts with tempPrefix. A kplay killed mid-way leaves them, and they can be hundreds of
// megabytes. Each is held with flock(2) by the process working on it, which the kernel
// drops when that process dies: the next call on the same destination takes the lock of
// the abandoned ones and removes them, and leaves alone those another kplay still works on.

func tempPrefix(dest string) string { return "." + filepath.Base(dest) + ".kplay-" }

// held is a temporary entry locked by this process.
type held struct{ f *os.File }

// hold locks path, just created by this process, until release.
func hold(path string) (*held, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, err
	}
	return &held{f: f}, nil
}

func (h *held) release() {
	if h != nil {
		h.f.Close()
	}
}

// sweepAbandoned removes dest's temporary entries that no living process holds. The
// previous content of a directory whose replacement was cut short, with dest itself gone,
// is put back rather than removed.
func sweepAbandoned(dest string) {
	dir := filepath.Dir(dest)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), tempPrefix(dest)) {
			continue
		}
		p := filepath.Join(dir, e.Name())
		h, err := hold(p)
		if err != nil {
			continue // gone already, or a living process holds it
		}
		if strings.HasPrefix(e.Name(), tempPrefix(dest)+"old-") {
			restorePrevious(p, dest)
		}
		os.RemoveAll(p)
		h.release()
	}
}

func restorePrevious(trash, dest string) {
	if _, err := os.Lstat(dest); !errors.Is(err, fs.ErrNotExist) {
		return
	}
	_ = os.Rename(filepath.Join(trash, "previous"), dest)
}
