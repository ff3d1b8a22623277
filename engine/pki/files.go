package pki

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/kplay-dev/kplay/engine/internal/atomicfile"
)

const (
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
	return d, atomicfile.Write(path, content, mode)
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
