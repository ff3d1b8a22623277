package fetch

import (
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
)

// algorithm is a hash kplay accepts for a pinned checksum. Its name is the one go-getter's
// checksum query and upstream release pages use.
type algorithm struct {
	name string
	new  func() hash.Hash
	size int
}

var (
	sha256Algorithm = algorithm{name: "sha256", new: sha256.New, size: sha256.Size}
	sha512Algorithm = algorithm{name: "sha512", new: sha512.New, size: sha512.Size}
)

// checksum is a pinned digest, its hex in lower case.
type checksum struct {
	algorithm
	hex string
}

// String gives the "sha512:HEX" form go-getter reads from its checksum query.
func (c checksum) String() string {
	return c.name + ":" + c.hex
}

// fileSHA256 returns the hex sha256 of the regular file at path, or exists == false.
func fileSHA256(path string) (sum string, exists bool, err error) {
	return fileDigest(path, sha256Algorithm)
}

// fileDigest returns the hex digest of the regular file at path, or exists == false.
func fileDigest(path string, algo algorithm) (sum string, exists bool, err error) {
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
	h := algo.new()
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

// parseChecksum picks the one checksum a request pins, so that a request can never be
// verified against a weaker digest than the one its author wrote down.
func parseChecksum(sha256Hex, sha512Hex string) (checksum, error) {
	switch {
	case sha256Hex != "" && sha512Hex != "":
		return checksum{}, errors.New("both sha256 and sha512 are set: pin exactly one checksum")
	case sha512Hex != "":
		return parseHex(sha512Algorithm, sha512Hex)
	case sha256Hex != "":
		return parseHex(sha256Algorithm, sha256Hex)
	}
	return checksum{}, errors.New("checksum is missing: set sha256 or sha512")
}

// parseHex normalizes a hex digest of algo to lower case.
func parseHex(algo algorithm, s string) (checksum, error) {
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != algo.size {
		return checksum{}, fmt.Errorf("%s checksum %q is not %d hex digits", algo.name, s, 2*algo.size)
	}
	return checksum{algorithm: algo, hex: hex.EncodeToString(b)}, nil
}
