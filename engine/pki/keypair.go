package pki

import (
	"fmt"

	"github.com/kplay-dev/kplay/engine/internal/atomicfile"
)

// EnsureKeyPair makes keyPath hold a private key and pubPath its public key in PKIX PEM, as
// kube-apiserver and kube-controller-manager expect for signing service-account tokens. An
// existing key is kept (only a missing or stale public key file is rewritten); an unreadable
// one is an error rather than replaced, because a new key invalidates every token issued.
func EnsureKeyPair(keyPath, pubPath string, check bool) (Decision, error) {
	keyPEM, exists, err := readOptional(keyPath)
	if err != nil {
		return Decision{}, fmt.Errorf("read key: %w", err)
	}
	if !exists {
		return newKeyPair(keyPath, pubPath, check)
	}
	key, err := parseKey(keyPEM)
	if err != nil {
		return Decision{}, fmt.Errorf("key %s: %w; kplay does not replace it: move it away to "+
			"create a new one", keyPath, err)
	}
	pubPEM, err := encodePublicKey(key.Public())
	if err != nil {
		return Decision{}, err
	}
	keyDecision, err := ensureMode(keyPath, keyMode, check)
	if err != nil {
		return Decision{}, err
	}
	pubDecision, err := EnsureFile(pubPath, pubPEM, certMode, check)
	if err != nil {
		return Decision{}, err
	}
	switch {
	case pubDecision.Changed:
		return Decision{Changed: true, Reason: "public key " + pubDecision.Reason}, nil
	case keyDecision.Changed:
		return Decision{Changed: true, Reason: "key " + keyDecision.Reason}, nil
	}
	return Decision{}, nil
}

func newKeyPair(keyPath, pubPath string, check bool) (Decision, error) {
	d := Decision{Changed: true, Reason: "missing"}
	if check {
		return d, nil
	}
	key, err := newKey()
	if err != nil {
		return Decision{}, err
	}
	keyPEM, err := encodeKey(key)
	if err != nil {
		return Decision{}, err
	}
	pubPEM, err := encodePublicKey(key.Public())
	if err != nil {
		return Decision{}, err
	}
	if err := atomicfile.WriteNew(keyPath, keyPEM, keyMode); err != nil {
		return Decision{}, fmt.Errorf("write key: %w", err)
	}
	if err := atomicfile.Write(pubPath, pubPEM, certMode); err != nil {
		return Decision{}, fmt.Errorf("write public key: %w", err)
	}
	return d, nil
}
