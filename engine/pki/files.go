package pki

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

const (
	dirMode  fs.FileMode = 0o700
	keyMode  fs.FileMode = 0o600
	certMode fs.FileMode = 0o644
)

// EnsureFile makes path hold exactly content with the given permission bits. A file that
// already matches is not touched; one whose content matches but whose mode differs only gets
// a chmod. Missing parent directories are created 0700, since the files kplay keeps beside
// the inventory (kubeconfigs, keys) are secrets.
func EnsureFile(path string, content []byte, mode fs.FileMode, check bool) (Decision, error) {
	current, exists, err := readOptional(path)
	if err != nil {
		return Decision{}, err
	}
	if exists && bytes.Equal(current, content) {
		return ensureMode(path, mode, check)
	}
	d := Decision{Changed: true, Reason: "missing"}
	if exists {
		d.Reason = "content differs"
	}
	if check {
		return d, nil
	}
	return d, writeAtomic(path, content, mode)
}

func ensureMode(path string, mode fs.FileMode, check bool) (Decision, error) {
	info, err := os.Stat(path)
	if err != nil {
		return Decision{}, err
	}
	if info.Mode().Perm() == mode.Perm() {
		return Decision{}, nil
	}
	reason := fmt.Sprintf("mode %04o, want %04o", info.Mode().Perm(), mode.Perm())
	d := Decision{Changed: true, Reason: reason}
	if check {
		return d, nil
	}
	if err := os.Chmod(path, mode.Perm()); err != nil {
		return Decision{}, err
	}
	return d, nil
}

// readOptional reads path, reporting a missing file as exists == false rather than an error.
func readOptional(path string) (data []byte, exists bool, err error) {
	data, err = os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return data, true, nil
}

// writeAtomic replaces path with data so that a reader or a crash sees either the old file
// or the complete new one.
func writeAtomic(path string, data []byte, mode fs.FileMode) error {
	tmp, err := writeTemp(path, data, mode)
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	syncDir(filepath.Dir(path))
	return nil
}

// writeNew creates path with data but fails if path already exists, even if another process
// created it a moment ago: a hard link, unlike a rename, never replaces its target.
func writeNew(path string, data []byte, mode fs.FileMode) error {
	tmp, err := writeTemp(path, data, mode)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	if err := os.Link(tmp, path); err != nil {
		return err
	}
	syncDir(filepath.Dir(path))
	return nil
}

// writeTemp writes data to a new temporary file beside path and returns its name. The file
// is created 0600 and only then given mode, so a key is never readable by others, not even
// while it is being written.
func writeTemp(path string, data []byte, mode fs.FileMode) (name string, err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, dirMode); err != nil {
		return "", err
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return "", err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err := f.Write(data); err != nil {
		return "", err
	}
	if err := f.Sync(); err != nil {
		return "", err
	}
	if err := f.Chmod(mode.Perm()); err != nil {
		return "", err
	}
	if err := f.Close(); err != nil {
		return "", err
	}
	return f.Name(), nil
}

// syncDir makes a rename durable. Some file systems cannot sync a directory; the rename has
// happened anyway, so a failure here is not worth failing the run for.
func syncDir(dir string) {
	d, err := os.Open(dir)
	if err != nil {
		return
	}
	d.Sync()
	d.Close()
}
