// Package atomicfile writes files on the deploy host so that a reader, a crash or a kill
// sees either the old file or the complete new one, never half of one. Every file kplay keeps
// in the state directory (keys, certificates, facts, pending handlers) is written this way.
package atomicfile

import (
	"os"
	"path/filepath"
)

// DirMode is the mode of parent directories Write creates: state is private.
const DirMode os.FileMode = 0o700

// Write replaces path with data, creating missing parent directories with DirMode.
func Write(path string, data []byte, mode os.FileMode) error {
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

// WriteNew creates path with data but fails if path already exists, even if another process
// created it a moment ago: a hard link, unlike a rename, never replaces its target.
func WriteNew(path string, data []byte, mode os.FileMode) error {
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
func writeTemp(path string, data []byte, mode os.FileMode) (name string, err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, DirMode); err != nil {
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
