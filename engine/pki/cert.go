package pki

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/kplay-dev/kplay/engine/internal/atomicfile"
)

const (
	defaultLeafValidFor    = 365 * 24 * time.Hour
	defaultLeafRenewBefore = 30 * 24 * time.Hour
)

// CertRequest describes one leaf certificate and its key. Organization, DNSNames and
// IPAddresses are compared as sets: their order does not matter.
type CertRequest struct {
	// Name identifies the certificate in messages, e.g. "etcd server node1".
	Name string

	CertPath string
	KeyPath  string

	CommonName   string
	Organization []string
	DNSNames     []string
	IPAddresses  []net.IP

	// Server and Client select the extended key usages; at least one must be set.
	Server bool
	Client bool

	// ValidFor defaults to one year, RenewBefore to 30 days. A certificate is reissued once
	// it expires within RenewBefore, so RenewBefore must be shorter than ValidFor.
	ValidFor    time.Duration
	RenewBefore time.Duration
}

// ParseIPs parses textual IP addresses for CertRequest.IPAddresses.
func ParseIPs(addrs []string) ([]net.IP, error) {
	ips := make([]net.IP, 0, len(addrs))
	for _, a := range addrs {
		ip := net.ParseIP(strings.TrimSpace(a))
		if ip == nil {
			return nil, fmt.Errorf("invalid IP address %q", a)
		}
		ips = append(ips, ip)
	}
	return ips, nil
}

func (req CertRequest) withDefaults() (CertRequest, error) {
	if req.ValidFor <= 0 {
		req.ValidFor = defaultLeafValidFor
	}
	if req.RenewBefore <= 0 {
		req.RenewBefore = defaultLeafRenewBefore
	}
	switch {
	case req.CertPath == "" || req.KeyPath == "":
		return req, fmt.Errorf("certificate %s: certificate and key paths are required", req.Name)
	case !req.Server && !req.Client:
		return req, fmt.Errorf("certificate %s: neither server nor client usage requested", req.Name)
	case req.RenewBefore >= req.ValidFor:
		return req, fmt.Errorf("certificate %s: renew_before %s is not shorter than valid_for %s",
			req.Name, shortDuration(req.RenewBefore), shortDuration(req.ValidFor))
	}
	return req, nil
}

// EnsureCert makes req.CertPath hold a certificate signed by ca that matches req, and
// req.KeyPath its key. A certificate is reissued only when it is missing, unreadable,
// expires within RenewBefore, is not signed by ca, or its subject, SANs or key usages differ
// from req; otherwise both files are left byte for byte as they are. Reissuing keeps the
// existing key when it is readable, so a changed SAN does not rotate keys. A key file with a
// mode other than 0600 only gets a chmod.
//
// On a nil *CA, which EnsureCA returns in check mode when the CA does not exist yet, check
// mode reports that the certificate would be issued; without check it is an error.
func (ca *CA) EnsureCert(req CertRequest, check bool) (Decision, error) {
	req, err := req.withDefaults()
	if err != nil {
		return Decision{}, err
	}
	if ca == nil {
		if check {
			return Decision{Changed: true, Reason: "the CA does not exist yet"}, nil
		}
		return Decision{}, errors.New("pki: EnsureCert called on a nil CA")
	}

	st, err := ca.inspect(req, time.Now())
	if err != nil {
		return Decision{}, fmt.Errorf("certificate %s: %w", req.Name, err)
	}
	if len(st.reasons) == 0 {
		return ensureMode(req.KeyPath, keyMode, check)
	}
	d := Decision{Changed: true, Reason: strings.Join(st.reasons, "; ")}
	if check {
		return d, nil
	}
	if err := ca.issue(req, st.key); err != nil {
		return Decision{}, fmt.Errorf("certificate %s: %w", req.Name, err)
	}
	return d, nil
}

// leafState is what is on disk for one leaf: its reusable key, if any, and every reason to
// reissue the certificate.
type leafState struct {
	key     crypto.Signer
	reasons []string
}

func (ca *CA) inspect(req CertRequest, now time.Time) (leafState, error) {
	var st leafState
	certPEM, certExists, err := readOptional(req.CertPath)
	if err != nil {
		return st, err
	}
	keyPEM, keyExists, err := readOptional(req.KeyPath)
	if err != nil {
		return st, err
	}
	if keyExists {
		if st.key, err = parseKey(keyPEM); err != nil {
			st.reasons = append(st.reasons, "key unreadable ("+err.Error()+"), new key")
		}
	}

	switch {
	case !certExists && !keyExists:
		st.reasons = []string{"missing"}
		return st, nil
	case !certExists:
		st.reasons = append(st.reasons, "certificate missing")
		return st, nil
	case !keyExists:
		st.reasons = append(st.reasons, "key missing")
	}
	cert, err := parseCert(certPEM)
	if err != nil {
		st.reasons = append(st.reasons, "certificate unreadable ("+err.Error()+")")
		return st, nil
	}
	if st.key != nil && !keyMatches(st.key, cert.PublicKey) {
		st.reasons = append(st.reasons, "key does not match the certificate")
	}
	st.reasons = append(st.reasons, ca.compare(cert, req, now)...)
	return st, nil
}

// compare lists how cert falls short of req.
func (ca *CA) compare(cert *x509.Certificate, req CertRequest, now time.Time) []string {
	var reasons []string
	if !bytes.Equal(cert.RawIssuer, ca.cert.RawSubject) || cert.CheckSignatureFrom(ca.cert) != nil {
		reasons = append(reasons, "not signed by the current CA")
	}
	if r := expiryReason(cert, req.RenewBefore, ca.cert.NotAfter, now); r != "" {
		reasons = append(reasons, r)
	}
	if r := subjectReason(cert, req); r != "" {
		reasons = append(reasons, r)
	}
	if r := sanReason(cert, req); r != "" {
		reasons = append(reasons, r)
	}
	have, want := usageNames(cert.ExtKeyUsage), usageNames(wantUsages(req))
	if !slices.Equal(have, want) {
		reasons = append(reasons, fmt.Sprintf("key usages differ: have %s, want %s",
			strings.Join(have, ","), strings.Join(want, ",")))
	}
	return reasons
}

// expiryReason does not ask for renewal of a certificate that already lasts as long as the
// CA, since a new one could not last longer and would be reissued on every run.
func expiryReason(cert *x509.Certificate, renew time.Duration, caEnd, now time.Time) string {
	switch {
	case now.After(cert.NotAfter):
		return "expired on " + cert.NotAfter.UTC().Format(time.RFC3339)
	case now.Before(cert.NotBefore):
		return "not valid before " + cert.NotBefore.UTC().Format(time.RFC3339)
	case cert.NotAfter.Sub(now) < renew && cert.NotAfter.Before(caEnd):
		return "expires within " + shortDuration(renew)
	}
	return ""
}

func subjectReason(cert *x509.Certificate, req CertRequest) string {
	haveO, wantO := sortedSet(cert.Subject.Organization), sortedSet(req.Organization)
	if cert.Subject.CommonName == req.CommonName && slices.Equal(haveO, wantO) {
		return ""
	}
	return fmt.Sprintf("subject differs: have CN=%q O=%q, want CN=%q O=%q",
		cert.Subject.CommonName, haveO, req.CommonName, wantO)
}

func sanReason(cert *x509.Certificate, req CertRequest) string {
	have := sans(cert.DNSNames, cert.IPAddresses)
	want := sans(req.DNSNames, req.IPAddresses)
	var diff []string
	for _, s := range want {
		if !slices.Contains(have, s) {
			diff = append(diff, "+"+s)
		}
	}
	for _, s := range have {
		if !slices.Contains(want, s) {
			diff = append(diff, "-"+s)
		}
	}
	if len(diff) == 0 {
		return ""
	}
	return "SANs differ: " + strings.Join(diff, " ")
}

// sans normalizes names to lower case and addresses to their canonical text, so 10.0.0.1 in
// 4-byte and 16-byte form, or an upper-case host name, compare equal.
func sans(dns []string, ips []net.IP) []string {
	out := make([]string, 0, len(dns)+len(ips))
	for _, n := range dns {
		out = append(out, strings.ToLower(n))
	}
	for _, ip := range ips {
		out = append(out, ip.String())
	}
	return sortedSet(out)
}

func sortedSet(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return slices.Compact(out)
}

func wantUsages(req CertRequest) []x509.ExtKeyUsage {
	var u []x509.ExtKeyUsage
	if req.Server {
		u = append(u, x509.ExtKeyUsageServerAuth)
	}
	if req.Client {
		u = append(u, x509.ExtKeyUsageClientAuth)
	}
	return u
}

func usageNames(usages []x509.ExtKeyUsage) []string {
	names := make([]string, 0, len(usages))
	for _, u := range usages {
		switch u {
		case x509.ExtKeyUsageServerAuth:
			names = append(names, "server")
		case x509.ExtKeyUsageClientAuth:
			names = append(names, "client")
		default:
			names = append(names, fmt.Sprintf("usage-%d", u))
		}
	}
	return sortedSet(names)
}

// issue signs a new certificate for key, or for a new key when key is nil. A new key is
// written first: should the certificate then fail to be written, the next run sees a key that
// does not match and reissues.
func (ca *CA) issue(req CertRequest, key crypto.Signer) error {
	if key == nil {
		var err error
		if key, err = newKey(); err != nil {
			return err
		}
		keyPEM, err := encodeKey(key)
		if err != nil {
			return err
		}
		if err := atomicfile.Write(req.KeyPath, keyPEM, keyMode); err != nil {
			return fmt.Errorf("write key: %w", err)
		}
	} else if err := os.Chmod(req.KeyPath, keyMode); err != nil {
		return fmt.Errorf("fix key mode: %w", err)
	}
	certPEM, err := ca.sign(req, key.Public(), time.Now())
	if err != nil {
		return err
	}
	if err := atomicfile.Write(req.CertPath, certPEM, certMode); err != nil {
		return fmt.Errorf("write certificate: %w", err)
	}
	return nil
}

func (ca *CA) sign(req CertRequest, pub crypto.PublicKey, now time.Time) ([]byte, error) {
	serial, err := newSerial()
	if err != nil {
		return nil, err
	}
	notAfter := now.Add(req.ValidFor)
	if notAfter.After(ca.cert.NotAfter) {
		notAfter = ca.cert.NotAfter
	}
	usage := x509.KeyUsageDigitalSignature
	if _, ok := pub.(*rsa.PublicKey); ok {
		usage |= x509.KeyUsageKeyEncipherment
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: req.CommonName, Organization: req.Organization},
		DNSNames:              req.DNSNames,
		IPAddresses:           req.IPAddresses,
		NotBefore:             now.Add(-backdate),
		NotAfter:              notAfter,
		KeyUsage:              usage,
		ExtKeyUsage:           wantUsages(req),
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, pub, ca.key)
	if err != nil {
		return nil, fmt.Errorf("sign certificate: %w", err)
	}
	return encodeCert(der), nil
}

// shortDuration prints 720h rather than 720h0m0s.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
