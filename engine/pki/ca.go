package pki

import (
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/kplay-dev/kplay/engine/internal/atomicfile"
)

const (
	defaultCACommonName = "kubernetes-ca"
	defaultCAValidFor   = 10 * 365 * 24 * time.Hour

	// backdate makes new certificates valid slightly in the past, so a node whose clock lags
	// the deploy host's does not reject them as not yet valid.
	backdate = time.Hour
)

// CAOptions says where the CA lives and, should it not exist yet, how to create it.
type CAOptions struct {
	CertPath string
	KeyPath  string

	// CommonName and ValidFor apply only when the CA is created; they default to
	// "kubernetes-ca" and ten years.
	CommonName string
	ValidFor   time.Duration
}

// CA is a loaded certificate authority. Its private key stays in memory and is never
// exported; only the certificate is.
type CA struct {
	cert    *x509.Certificate
	certPEM []byte
	key     crypto.Signer
}

// CAError reports a CA that exists but cannot be used. kplay does not repair it: the operator
// decides, because replacing a CA invalidates everything it signed.
type CAError struct {
	CertPath string
	KeyPath  string
	Problem  string
}

func (e *CAError) Error() string {
	return fmt.Sprintf("certificate authority %s (key %s): %s; kplay never replaces a CA by "+
		"itself: to create a new one, move both files away and run again, and every "+
		"certificate and kubeconfig signed by the old CA will be reissued",
		e.CertPath, e.KeyPath, e.Problem)
}

// EnsureCA loads the CA at opts.CertPath and opts.KeyPath, or creates it if neither file
// exists. An existing CA is never modified. A CA with only one of its two files, or one that
// is unreadable, expired, not a CA, or whose key does not match, gives a *CAError and nothing
// is written.
//
// In check mode a missing CA gives a nil *CA with Decision.Changed set; a nil *CA can still
// predict leaf certificates in check mode (see EnsureCert).
func EnsureCA(opts CAOptions, check bool) (*CA, Decision, error) {
	if opts.CertPath == "" || opts.KeyPath == "" {
		return nil, Decision{}, errors.New("pki: CA certificate and key paths are required")
	}
	certPEM, certExists, err := readOptional(opts.CertPath)
	if err != nil {
		return nil, Decision{}, fmt.Errorf("read CA certificate: %w", err)
	}
	keyPEM, keyExists, err := readOptional(opts.KeyPath)
	if err != nil {
		return nil, Decision{}, fmt.Errorf("read CA key: %w", err)
	}

	switch {
	case !certExists && !keyExists:
		d := Decision{Changed: true, Reason: "CA missing"}
		if check {
			return nil, d, nil
		}
		ca, err := createCA(opts)
		if err != nil {
			return nil, Decision{}, err
		}
		return ca, d, nil
	case !certExists:
		return nil, Decision{}, caError(opts, "the key exists but the certificate is missing")
	case !keyExists:
		return nil, Decision{}, caError(opts, "the certificate exists but the key is missing")
	}

	ca, problem := loadCA(certPEM, keyPEM, time.Now())
	if problem != "" {
		return nil, Decision{}, caError(opts, problem)
	}
	return ca, Decision{}, nil
}

func caError(opts CAOptions, problem string) error {
	return &CAError{CertPath: opts.CertPath, KeyPath: opts.KeyPath, Problem: problem}
}

// loadCA returns the CA, or a description of why the files do not make a usable one.
func loadCA(certPEM, keyPEM []byte, now time.Time) (*CA, string) {
	cert, err := parseCert(certPEM)
	if err != nil {
		return nil, "the certificate cannot be read: " + err.Error()
	}
	key, err := parseKey(keyPEM)
	if err != nil {
		return nil, "the key cannot be read: " + err.Error()
	}
	switch {
	case !cert.BasicConstraintsValid || !cert.IsCA:
		return nil, "the certificate is not a CA certificate"
	case cert.KeyUsage&x509.KeyUsageCertSign == 0:
		return nil, "the certificate may not sign certificates (no certSign key usage)"
	case !keyMatches(key, cert.PublicKey):
		return nil, "the key does not belong to the certificate"
	case now.After(cert.NotAfter):
		return nil, "the certificate expired on " + cert.NotAfter.UTC().Format(time.RFC3339)
	case now.Before(cert.NotBefore):
		return nil, "the certificate is not valid before " + cert.NotBefore.UTC().Format(time.RFC3339)
	}
	return &CA{cert: cert, certPEM: certPEM, key: key}, ""
}

// createCA writes the key before the certificate and removes it again if the certificate
// cannot be written, so a failure does not leave a half CA that the next run would refuse.
func createCA(opts CAOptions) (*CA, error) {
	if opts.CommonName == "" {
		opts.CommonName = defaultCACommonName
	}
	if opts.ValidFor <= 0 {
		opts.ValidFor = defaultCAValidFor
	}
	key, err := newKey()
	if err != nil {
		return nil, err
	}
	certPEM, err := selfSign(key, opts, time.Now())
	if err != nil {
		return nil, err
	}
	keyPEM, err := encodeKey(key)
	if err != nil {
		return nil, err
	}
	if err := atomicfile.WriteNew(opts.KeyPath, keyPEM, keyMode); err != nil {
		return nil, fmt.Errorf("write CA key: %w", err)
	}
	if err := atomicfile.WriteNew(opts.CertPath, certPEM, certMode); err != nil {
		os.Remove(opts.KeyPath)
		return nil, fmt.Errorf("write CA certificate: %w", err)
	}
	ca, problem := loadCA(certPEM, keyPEM, time.Now())
	if problem != "" {
		return nil, fmt.Errorf("pki: new CA unusable: %s", problem)
	}
	return ca, nil
}

func selfSign(key crypto.Signer, opts CAOptions, now time.Time) ([]byte, error) {
	serial, err := newSerial()
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: opts.CommonName},
		NotBefore:    now.Add(-backdate),
		NotAfter:     now.Add(opts.ValidFor),
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign |
			x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("create CA certificate: %w", err)
	}
	return encodeCert(der), nil
}

// Certificate returns the parsed CA certificate. Callers must not modify it.
func (ca *CA) Certificate() *x509.Certificate { return ca.cert }

// CertPEM returns the CA certificate as PEM, byte for byte as it is stored on disk.
func (ca *CA) CertPEM() []byte { return append([]byte(nil), ca.certPEM...) }
