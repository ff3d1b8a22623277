package fetch

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	getter "github.com/hashicorp/go-getter/v2"
)

const defaultFileMode fs.FileMode = 0o644

const maxRedirects = 10

// Request is one file to download.
type Request struct {
	// URL is an http, https or file URL, after any mirror rewriting (see RewriteURL).
	URL string
	// SHA256 and SHA512 are the expected checksum in hex. Exactly one must be set: kplay
	// never installs a file it cannot verify, and some upstreams publish only sha512.
	SHA256 string
	SHA512 string
	// Dest is the path of the file to create or replace; its directory is created if needed.
	Dest string
	// Mode defaults to 0644.
	Mode fs.FileMode
	// MaxBytes caps the size of an HTTP response; 0 means no cap. A capped download fails
	// its checksum instead of filling the disk.
	MaxBytes int64
}

// ChecksumError reports a download whose content is not what was pinned.
type ChecksumError struct {
	URL string
	// Algorithm is "sha256" or "sha512", whichever the request pinned; Expected and Actual
	// are hex digests of that algorithm.
	Algorithm string
	Expected  string
	Actual    string
}

func (e *ChecksumError) Error() string {
	return fmt.Sprintf("download %s: checksum mismatch: expected %s %s, got %s",
		e.URL, e.Algorithm, e.Expected, e.Actual)
}

// Download makes req.Dest hold the file at req.URL, verified against req.SHA256 or
// req.SHA512. A Dest that already has the right checksum is left alone without any network
// access (at most its mode is corrected). Otherwise the file is downloaded with go-getter
// into a temporary file beside Dest, verified, and renamed over Dest; on any failure Dest is
// unchanged and the temporary file removed.
//
// In check mode Download only compares the checksum of Dest and never uses the network.
func Download(ctx context.Context, req Request, check bool) (Decision, error) {
	want, src, err := validate(&req)
	if err != nil {
		return Decision{}, err
	}
	if !check {
		sweepAbandoned(req.Dest)
	}
	have, exists, err := fileDigest(req.Dest, want.algorithm)
	if err != nil {
		return Decision{}, fmt.Errorf("download %s: %w", src.Redacted(), err)
	}
	if exists && have == want.hex {
		d, err := ensureMode(req.Dest, req.Mode, check)
		if err != nil {
			return Decision{}, fmt.Errorf("download %s: %w", src.Redacted(), err)
		}
		return d, nil
	}
	d := Decision{Changed: true, Reason: "missing"}
	if exists {
		d.Reason = "checksum differs: have " + want.name + " " + have
	}
	if check {
		return d, nil
	}
	if err := download(ctx, req, src, want); err != nil {
		return Decision{}, err
	}
	return d, nil
}

// validate rejects anything before it could reach the network.
func validate(req *Request) (sum checksum, src *url.URL, err error) {
	if req.Mode == 0 {
		req.Mode = defaultFileMode
	}
	if req.Dest == "" {
		return checksum{}, nil, fmt.Errorf("download %s: destination is missing", req.URL)
	}
	src, err = parseSourceURL(req.URL)
	if err != nil {
		return checksum{}, nil, err
	}
	sum, err = parseChecksum(req.SHA256, req.SHA512)
	if err != nil {
		return checksum{}, nil, fmt.Errorf("download %s: %w", src.Redacted(), err)
	}
	return sum, src, nil
}

// parseSourceURL accepts only the plain http, https and file URLs kplay needs, and rejects
// what go-getter would read as instructions instead of part of the address: forced getters
// ("git::https://..."), subdirectories ("//" in the path) and its magic query parameters.
func parseSourceURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("download: invalid URL: %w", err)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https" && u.Scheme != "file":
		return nil, fmt.Errorf("download %s: only http, https and file URLs are supported", u.Redacted())
	case u.Opaque != "" || strings.Contains(u.Path, "//"):
		return nil, fmt.Errorf("download %s: unsupported URL form", u.Redacted())
	case u.Scheme != "file" && u.Host == "":
		return nil, fmt.Errorf("download %s: URL has no host", u.Redacted())
	case u.Scheme == "file" && u.Host != "" && u.Host != "localhost":
		return nil, fmt.Errorf("download %s: file URLs must name a local path", u.Redacted())
	}
	q := u.Query()
	for _, magic := range []string{"checksum", "archive", "filename"} {
		if q.Has(magic) {
			return nil, fmt.Errorf("download %s: query parameter %q is reserved", u.Redacted(), magic)
		}
	}
	return u, nil
}

func download(ctx context.Context, req Request, src *url.URL, want checksum) (err error) {
	name := src.Redacted()
	tmp, lock, err := createTemp(req.Dest)
	if err != nil {
		return fmt.Errorf("download %s: %w", name, err)
	}
	defer lock.release()
	defer func() {
		if err != nil {
			os.Remove(tmp)
		}
	}()

	if err := get(ctx, req, src, want, tmp); err != nil {
		return err
	}
	// go-getter verified the checksum already; checking again here guards the rename
	// against a getter that skips verification in some path.
	got, _, err := fileDigest(tmp, want.algorithm)
	if err != nil {
		return fmt.Errorf("download %s: %w", name, err)
	}
	if got != want.hex {
		return &ChecksumError{URL: name, Algorithm: want.name, Expected: want.hex, Actual: got}
	}
	if err := os.Chmod(tmp, req.Mode.Perm()); err != nil {
		return fmt.Errorf("download %s: %w", name, err)
	}
	if err := os.Rename(tmp, req.Dest); err != nil {
		return fmt.Errorf("download %s: %w", name, err)
	}
	return nil
}

// createTemp makes the file a download goes to, beside dest, held by this process.
func createTemp(dest string) (string, *held, error) {
	dir := filepath.Dir(dest)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", nil, err
	}
	f, err := os.CreateTemp(dir, tempPrefix(dest)+"*")
	if err != nil {
		return "", nil, err
	}
	f.Close()
	h, err := hold(f.Name())
	if err != nil {
		os.Remove(f.Name())
		return "", nil, err
	}
	return f.Name(), h, nil
}

// get runs go-getter for one file into tmp and translates its checksum error into ours.
func get(ctx context.Context, req Request, src *url.URL, want checksum, tmp string) error {
	withSum := *src
	q := withSum.Query()
	q.Set("checksum", want.String())
	withSum.RawQuery = q.Encode()

	_, err := newClient(req.MaxBytes).Get(ctx, &getter.Request{
		Src:             withSum.String(),
		Dst:             tmp,
		GetMode:         getter.ModeFile,
		Copy:            true,
		DisableSymlinks: true,
	})
	var sumErr *getter.ChecksumError
	switch {
	case errors.As(err, &sumErr):
		actual := hex.EncodeToString(sumErr.Actual)
		return &ChecksumError{
			URL: src.Redacted(), Algorithm: want.name, Expected: want.hex, Actual: actual,
		}
	case err != nil:
		return fmt.Errorf("download %s: %w", src.Redacted(), err)
	}
	return nil
}

// newClient builds a go-getter client that fetches exactly one file over http, https or
// file, and nothing else: no git or other getters, no decompression of the result, no
// .netrc credentials, no X-Terraform-Get indirection, no HEAD-and-resume (which would
// append to a stale partial file), and file URLs copied rather than symlinked.
func newClient(maxBytes int64) *getter.Client {
	httpGetter := &getter.HttpGetter{
		Client:                newHTTPClient(),
		Netrc:                 false,
		XTerraformGetDisabled: true,
		DoNotCheckHeadFirst:   true,
		MaxBytes:              maxBytes,
	}
	return &getter.Client{
		Getters:         []getter.Getter{httpGetter, new(getter.FileGetter)},
		Decompressors:   map[string]getter.Decompressor{},
		DisableSymlinks: true,
	}
}

// newHTTPClient asks servers for the exact bytes (no transparent gzip, which would hand back
// a .tar for a .tar.gz served with Content-Encoding) and follows redirects only a few times
// and never from https down to http. The whole transfer is bounded by the caller's context,
// not by a fixed timeout that a large binary on a slow link would hit.
func newHTTPClient() *http.Client {
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.DisableCompression = true
	transport.ResponseHeaderTimeout = time.Minute
	return &http.Client{Transport: transport, CheckRedirect: checkRedirect}
}

func checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= maxRedirects {
		return fmt.Errorf("stopped after %d redirects", maxRedirects)
	}
	if via[0].URL.Scheme == "https" && req.URL.Scheme != "https" {
		return fmt.Errorf("refusing redirect from https to %s", req.URL.Redacted())
	}
	return nil
}
