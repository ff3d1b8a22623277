package ssh

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"

	gossh "golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// Kinds of HostKeyError.
const (
	HostKeyUnknown = "unknown" // known_hosts has no key for the host
	HostKeyChanged = "changed" // known_hosts has other keys for the host
	HostKeyRevoked = "revoked" // the key is marked @revoked
)

// HostKeyError says that a host's key was refused. The connection was not used.
type HostKeyError struct {
	Host           string // inventory name
	Address        string // host:port as dialed
	Kind           string // HostKeyUnknown, HostKeyChanged or HostKeyRevoked
	KeyType        string // e.g. ssh-ed25519
	Fingerprint    string // SHA256:... of the key the host presented
	KnownHostsFile string
}

func (e *HostKeyError) Error() string {
	who := fmt.Sprintf("host %s (%s)", e.Host, e.Address)
	switch e.Kind {
	case HostKeyChanged:
		return fmt.Sprintf("%s presented a CHANGED host key, %s %s, that does not match %s: "+
			"someone may be intercepting the connection. If the host was reinstalled, remove "+
			"its old key with: ssh-keygen -f %s -R '%s'",
			who, e.KeyType, e.Fingerprint, e.KnownHostsFile, e.KnownHostsFile,
			knownhosts.Normalize(e.Address))
	case HostKeyRevoked:
		return fmt.Sprintf("%s presented host key %s %s, which %s marks as revoked",
			who, e.KeyType, e.Fingerprint, e.KnownHostsFile)
	default:
		return fmt.Sprintf("%s is not known: its host key is %s %s. If that is right, add the "+
			"key to %s or rerun with --accept-new-host-keys",
			who, e.KeyType, e.Fingerprint, e.KnownHostsFile)
	}
}

// knownHostsMu serializes the writers of known_hosts files in this process, so hosts
// accepted by concurrent dials are all recorded, each once.
var knownHostsMu sync.Mutex

// hostKeyChecker applies the host key policy for one dial.
type hostKeyChecker struct {
	host      string
	file      string
	acceptNew bool

	// Set by check, which x/crypto calls once per handshake, before the handshake returns.
	accepted gossh.PublicKey
	refusal  *HostKeyError
}

func newHostKeyChecker(cfg Config) *hostKeyChecker {
	return &hostKeyChecker{host: cfg.Host, file: cfg.KnownHostsFile, acceptNew: cfg.AcceptNewHostKeys}
}

// check is the ssh.HostKeyCallback. The refusal is also kept on the checker because x/crypto
// wraps it into a handshake error.
func (k *hostKeyChecker) check(address string, remote net.Addr, key gossh.PublicKey) error {
	err := k.verify(address, remote, key, k.acceptNew)
	var refusal *HostKeyError
	if errors.As(err, &refusal) {
		k.refusal = refusal
	}
	if err == nil {
		k.accepted = key
	}
	return err
}

func (k *hostKeyChecker) verify(address string, remote net.Addr, key gossh.PublicKey, acceptNew bool) error {
	db, err := loadKnownHosts(k.file)
	if err != nil {
		return err
	}
	err = db(address, remote, key)
	var keyErr *knownhosts.KeyError
	var revoked *knownhosts.RevokedError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &revoked):
		return k.refuse(HostKeyRevoked, address, key)
	case errors.As(err, &keyErr) && len(keyErr.Want) > 0:
		return k.refuse(HostKeyChanged, address, key)
	case errors.As(err, &keyErr) && acceptNew:
		return k.accept(address, remote, key)
	case errors.As(err, &keyErr):
		return k.refuse(HostKeyUnknown, address, key)
	default:
		return fmt.Errorf("check host key against %s: %w", k.file, err)
	}
}

func (k *hostKeyChecker) refuse(kind, address string, key gossh.PublicKey) error {
	return &HostKeyError{
		Host:           k.host,
		Address:        address,
		Kind:           kind,
		KeyType:        key.Type(),
		Fingerprint:    gossh.FingerprintSHA256(key),
		KnownHostsFile: k.file,
	}
}

// accept records a new host key. It checks again under the lock: a concurrent dial to the
// same host may have recorded it, or a different key for it, in the meantime.
func (k *hostKeyChecker) accept(address string, remote net.Addr, key gossh.PublicKey) error {
	knownHostsMu.Lock()
	defer knownHostsMu.Unlock()
	err := k.verify(address, remote, key, false)
	var refusal *HostKeyError
	if !errors.As(err, &refusal) || refusal.Kind != HostKeyUnknown {
		return err
	}
	line := knownhosts.Line([]string{knownhosts.Normalize(address)}, key)
	if err := appendLine(k.file, line); err != nil {
		return fmt.Errorf("record host key of %s in %s: %w", k.host, k.file, err)
	}
	slog.Info("ssh host key recorded", "host", k.host, "addr", address,
		"fingerprint", gossh.FingerprintSHA256(key), "file", k.file)
	return nil
}

// appendLine adds line to a known_hosts file, creating it and its directory as ssh would,
// and starting a new line if the file does not end with one.
func appendLine(file, line string) error {
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(file, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	if needsNewline(f) {
		line = "\n" + line
	}
	_, err = f.WriteString(line + "\n")
	if closeErr := f.Close(); err == nil {
		err = closeErr
	}
	return err
}

func needsNewline(f *os.File) bool {
	info, err := f.Stat()
	if err != nil || info.Size() == 0 {
		return false
	}
	last := make([]byte, 1)
	_, err = f.ReadAt(last, info.Size()-1)
	return err == nil && last[0] != '\n'
}

// loadKnownHosts reads the file afresh on each dial, so keys recorded by earlier dials count.
// A missing file is an empty one.
func loadKnownHosts(file string) (gossh.HostKeyCallback, error) {
	db, err := knownhosts.New(file)
	if errors.Is(err, fs.ErrNotExist) {
		return knownhosts.New()
	}
	if err != nil {
		return nil, fmt.Errorf("read known hosts: %w", err)
	}
	return db, nil
}

// probeKey is a key no known_hosts file lists; checking it makes knownhosts report every key
// it knows for a host.
var probeKey = sync.OnceValue(func() gossh.PublicKey {
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	key, err := gossh.NewPublicKey(pub)
	if err != nil {
		panic(err)
	}
	return key
})

// algorithms orders the host key algorithms so that the server is asked first for the kinds
// of key known_hosts holds for it. Without this, x/crypto's default order would make a host
// known by its ed25519 key present its ECDSA key, which would look like a changed key. Other
// algorithms follow, so a host that really changed its key type is reported as changed
// rather than failing negotiation. It returns nil, the default order, for an unknown host.
func (k *hostKeyChecker) algorithms(address string) []string {
	db, err := loadKnownHosts(k.file)
	if err != nil {
		return nil
	}
	var keyErr *knownhosts.KeyError
	if !errors.As(db(address, probeAddr(address), probeKey()), &keyErr) || len(keyErr.Want) == 0 {
		return nil
	}
	supported := gossh.SupportedAlgorithms().HostKeys
	var algos []string
	for _, known := range keyErr.Want {
		for _, algo := range algorithmsForKey(known.Key.Type()) {
			if slices.Contains(supported, algo) && !slices.Contains(algos, algo) {
				algos = append(algos, algo)
			}
		}
	}
	for _, algo := range supported {
		if !slices.Contains(algos, algo) {
			algos = append(algos, algo)
		}
	}
	return algos
}

// algorithmsForKey maps a key type to the signature algorithms a host can prove it with: an
// RSA key signs with SHA-2 (ssh-rsa with SHA-1 is not offered).
func algorithmsForKey(keyType string) []string {
	if keyType == gossh.KeyAlgoRSA {
		return []string{gossh.KeyAlgoRSASHA512, gossh.KeyAlgoRSASHA256}
	}
	return []string{keyType}
}

// probeAddr is a remote address for knownhosts, which requires one even though it matches on
// the address dialed.
func probeAddr(address string) net.Addr {
	host, port, _ := net.SplitHostPort(address)
	p, _ := strconv.Atoi(port)
	ip := net.ParseIP(host)
	if ip == nil {
		ip = net.IPv4zero
	}
	return &net.TCPAddr{IP: ip, Port: p}
}
