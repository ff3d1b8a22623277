package fetch

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"strings"
)

// maxLinkTarget bounds a zip symlink's target, which is stored as the entry's content.
const maxLinkTarget = 4096

type entryKind int

const (
	kindFile entryKind = iota
	kindDir
	kindSymlink
	kindHardlink
	kindSpecial // devices, fifos, sparse files: never extracted
)

// rawEntry is an archive member as the archive describes it, before any check.
type rawEntry struct {
	name string
	kind entryKind
	mode fs.FileMode // permission bits only: setuid, setgid and sticky are dropped
	size int64
	link string // symlink target, or hard link target as an archive path
}

// archiveReader walks the members of a tar, tar.gz or zip archive in order.
type archiveReader interface {
	// next returns the next member and, for a regular file, a reader for its content that
	// is valid until the following call. It returns io.EOF after the last member.
	next() (rawEntry, io.Reader, error)
	Close() error
}

// openArchive recognizes the format by its content rather than by the file name, since
// artifacts are often saved under names that say nothing.
func openArchive(path string) (archiveReader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	head := make([]byte, 512)
	n, err := io.ReadFull(f, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		f.Close()
		return nil, err
	}
	head = head[:n]
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		f.Close()
		return nil, err
	}

	switch {
	case bytes.HasPrefix(head, []byte{0x1f, 0x8b}):
		gz, err := gzip.NewReader(f)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("read gzip header: %w", err)
		}
		return &tarArchive{tr: tar.NewReader(gz), closers: []io.Closer{gz, f}}, nil
	case bytes.HasPrefix(head, []byte("PK\x03\x04")) || bytes.HasPrefix(head, []byte("PK\x05\x06")):
		f.Close()
		zr, err := zip.OpenReader(path)
		if err != nil {
			return nil, err
		}
		return &zipArchive{zr: zr}, nil
	case len(head) >= 262 && string(head[257:262]) == "ustar", strings.HasSuffix(path, ".tar"):
		return &tarArchive{tr: tar.NewReader(f), closers: []io.Closer{f}}, nil
	}
	f.Close()
	return nil, errors.New("not a tar, tar.gz or zip archive")
}

type tarArchive struct {
	tr      *tar.Reader
	closers []io.Closer
}

func (t *tarArchive) next() (rawEntry, io.Reader, error) {
	for {
		hdr, err := t.tr.Next()
		if err != nil {
			return rawEntry{}, nil, err
		}
		e := rawEntry{
			name: hdr.Name,
			mode: fs.FileMode(hdr.Mode).Perm(),
			size: hdr.Size,
			link: hdr.Linkname,
		}
		switch hdr.Typeflag {
		case tar.TypeXGlobalHeader:
			continue // metadata for the archive, not a member
		case tar.TypeReg:
			e.kind = kindFile
			return e, t.tr, nil
		case tar.TypeDir:
			e.kind = kindDir
		case tar.TypeSymlink:
			e.kind = kindSymlink
		case tar.TypeLink:
			e.kind = kindHardlink
		default:
			e.kind = kindSpecial
		}
		e.size = 0
		return e, nil, nil
	}
}

func (t *tarArchive) Close() error {
	var errs []error
	for _, c := range t.closers {
		errs = append(errs, c.Close())
	}
	return errors.Join(errs...)
}

type zipArchive struct {
	zr   *zip.ReadCloser
	i    int
	open io.ReadCloser
}

func (z *zipArchive) next() (rawEntry, io.Reader, error) {
	z.closeCurrent()
	if z.i >= len(z.zr.File) {
		return rawEntry{}, nil, io.EOF
	}
	f := z.zr.File[z.i]
	z.i++
	m := f.Mode()
	e := rawEntry{name: f.Name, mode: m.Perm()}
	switch {
	case m.IsDir():
		e.kind = kindDir
	case m&fs.ModeSymlink != 0:
		e.kind = kindSymlink
		target, err := readZipLink(f)
		if err != nil {
			return rawEntry{}, nil, fmt.Errorf("%s: %w", f.Name, err)
		}
		e.link = target
	case m.IsRegular():
		e.kind = kindFile
		e.size = int64(min(f.UncompressedSize64, math.MaxInt64))
		rc, err := f.Open()
		if err != nil {
			return rawEntry{}, nil, fmt.Errorf("%s: %w", f.Name, err)
		}
		z.open = rc
		return e, rc, nil
	default:
		e.kind = kindSpecial
	}
	return e, nil, nil
}

func readZipLink(f *zip.File) (string, error) {
	rc, err := f.Open()
	if err != nil {
		return "", err
	}
	defer rc.Close()
	target, err := io.ReadAll(io.LimitReader(rc, maxLinkTarget+1))
	if err != nil {
		return "", err
	}
	if len(target) > maxLinkTarget {
		return "", errors.New("symlink target too long")
	}
	return string(target), nil
}

func (z *zipArchive) closeCurrent() {
	if z.open != nil {
		z.open.Close()
		z.open = nil
	}
}

func (z *zipArchive) Close() error {
	z.closeCurrent()
	return z.zr.Close()
}
