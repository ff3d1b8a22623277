package fetch

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// fileSHA256 returns the hex sha256 of the regular file at path, or exists == false.
func fileSHA256(path string) (sum string, exists bool, err error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return "", false, err
	}
	if !info.Mode().IsRegular() {
		return "", true, fmt.Errorf("%s is not a regular file", path)
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", true, err
	}
	return hex.EncodeToString(h.Sum(nil)), true, nil
}

// ensureMode gives path the permission bits of mode, reporting whether it had to.
func ensureMode(path string, mode fs.FileMode, check bool) (Decision, error) {
	info, err := os.Stat(path)
	if err != nil {
		return Decision{}, err
	}
	if info.Mode().Perm() == mode.Perm() {
		return Decision{}, nil
	}
	reason := fmt.Sprintf("mode %04o, want %04o", info.Mode().Perm(), mode.Perm())
	if !check {
		if err := os.Chmod(path, mode.Perm()); err != nil {
			return Decision{}, err
		}
	}
	return Decision{Changed: true, Reason: reason}, nil
}

// parseSHA256 normalizes a hex sha256 to lower case.
func parseSHA256(s string) (string, error) {
	if s == "" {
		return "", errors.New("sha256 checksum is missing")
	}
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != sha256.Size {
		return "", fmt.Errorf("sha256 checksum %q is not 64 hex digits", s)
	}
	return hex.EncodeToString(b), nil
}
