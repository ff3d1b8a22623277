package fetch

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

const (
	// markerName is the file in an extracted directory that records what was extracted.
	markerName = ".kplay-unarchive"

	defaultMaxBytes int64 = 4 << 30
	defaultMaxFiles       = 100_000
)

// UnarchiveRequest is one archive to unpack into its own directory.
type UnarchiveRequest struct {
	// Src is a local .tar, .tar.gz/.tgz or .zip file; the format is read from its content.
	Src string
	// Dest is the directory that will hold exactly the archive's content. It is replaced as
	// a whole, so it must not be shared with anything else.
	Dest string
	// StripComponents drops that many leading path components from every member, like tar's
	// --strip-components; "." components are not counted. Members with no components left
	// are skipped.
	StripComponents int
	// MaxBytes (default 4 GiB) and MaxFiles (default 100000) bound the total size and count
	// of members, so a hostile archive cannot fill the disk.
	MaxBytes int64
	MaxFiles int
}

// Unarchive makes req.Dest hold the content of req.Src. It records the archive's sha256, the
// strip count and a manifest of the files it unpacked in a marker file inside Dest, and does
// nothing while all three are unchanged: an unpacked file deleted or modified since makes
// it unpack again (files added to Dest do not).
//
// The archive is checked in full before anything is written (see scan for what is refused),
// then extracted into a temporary directory beside Dest that replaces Dest only once it is
// complete: a failure leaves the previous Dest as it was. Ownership in the archive is ignored
// (files belong to the user running kplay) and directories always get owner rwx so that a
// later run can replace them. An existing Dest without a marker is left alone with an error
// unless it is empty, because it was not made by Unarchive and replacing it would delete
// someone's files.
//
// In check mode the archive is still scanned, so a refused archive fails in check mode too;
// a Src that does not exist yet (its download was only predicted) counts as a change.
func Unarchive(ctx context.Context, req UnarchiveRequest, check bool) (Decision, error) {
	req, err := req.withDefaults()
	if err != nil {
		return Decision{}, err
	}
	if !check {
		sweepAbandoned(req.Dest)
	}
	d, marker, err := decideUnarchive(req, check)
	if err != nil || !d.Changed {
		return d, err
	}
	if marker == nil {
		return d, nil // check mode, and the archive does not exist yet
	}
	entries, err := scan(ctx, req)
	if err != nil {
		return Decision{}, fmt.Errorf("unarchive %s: %w", req.Src, err)
	}
	if check {
		return d, nil
	}
	if err := extract(ctx, req, entries, marker); err != nil {
		return Decision{}, fmt.Errorf("unarchive %s into %s: %w", req.Src, req.Dest, err)
	}
	return d, nil
}

func (req UnarchiveRequest) withDefaults() (UnarchiveRequest, error) {
	if req.MaxBytes <= 0 {
		req.MaxBytes = defaultMaxBytes
	}
	if req.MaxFiles <= 0 {
		req.MaxFiles = defaultMaxFiles
	}
	switch {
	case req.Src == "" || req.Dest == "":
		return req, errors.New("unarchive: source and destination are required")
	case req.StripComponents < 0:
		return req, fmt.Errorf("unarchive %s: strip_components is negative", req.Src)
	}
	req.Dest = filepath.Clean(req.Dest)
	return req, nil
}

// decideUnarchive compares the marker in Dest with the archive. It returns the marker to
// write, or nil when the archive is missing in check mode.
func decideUnarchive(req UnarchiveRequest, check bool) (Decision, []byte, error) {
	sum, exists, err := fileSHA256(req.Src)
	if err != nil {
		return Decision{}, nil, fmt.Errorf("unarchive %s: %w", req.Src, err)
	}
	if !exists {
		if check {
			return Decision{Changed: true, Reason: "archive not downloaded yet"}, nil, nil
		}
		return Decision{}, nil, fmt.Errorf("unarchive %s: archive does not exist", req.Src)
	}
	want := []byte(fmt.Sprintf("sha256:%s\nstrip_components:%d\n", sum, req.StripComponents))

	have, err := readMarker(req.Dest)
	switch {
	case err != nil:
		return Decision{}, nil, fmt.Errorf("unarchive %s: %w", req.Src, err)
	case have == nil:
		return Decision{Changed: true, Reason: "not extracted yet"}, want, nil
	case !strings.HasPrefix(string(have), string(want)):
		return Decision{Changed: true, Reason: "archive or strip_components changed"}, want, nil
	}
	now, err := manifest(req.Dest)
	if err != nil {
		return Decision{}, nil, fmt.Errorf("unarchive %s: %w", req.Src, err)
	}
	if !unchanged(strings.TrimPrefix(string(have), string(want)), now) {
		return Decision{Changed: true, Reason: "its content changed since it was unpacked"}, want, nil
	}
	return Decision{}, want, nil
}

// readMarker returns nil for a Dest that is absent or empty, the marker of a Dest made by
// Unarchive, and an error for anything else.
func readMarker(dest string) ([]byte, error) {
	info, err := os.Lstat(dest)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if !info.IsDir() {
		return nil, fmt.Errorf("%s exists and is not a directory", dest)
	}
	marker, err := os.ReadFile(filepath.Join(dest, markerName))
	if err == nil {
		return marker, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	children, err := os.ReadDir(dest)
	if err != nil {
		return nil, err
	}
	if len(children) > 0 {
		return nil, fmt.Errorf("%s is not empty and was not extracted by kplay (no %s); "+
			"refusing to replace it", dest, markerName)
	}
	return nil, nil
}
