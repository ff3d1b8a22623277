package fetch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// extract writes entries into a new directory beside req.Dest and swaps it into place.
func extract(ctx context.Context, req UnarchiveRequest, entries []entry, marker []byte) error {
	parent, base := filepath.Split(req.Dest)
	if parent == "" {
		parent = "."
	}
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(parent, tempPrefix(base)+"new-*")
	if err != nil {
		return err
	}
	lock, err := hold(tmp)
	if err != nil {
		os.Remove(tmp)
		return err
	}
	defer lock.release()
	err = writeEntries(ctx, req, entries, tmp)
	var list string
	if err == nil {
		list, err = manifest(tmp)
	}
	if err == nil {
		err = os.WriteFile(filepath.Join(tmp, markerName), append(marker, list...), 0o644)
	}
	if err == nil {
		err = os.Chmod(tmp, 0o755)
	}
	if err == nil {
		err = replaceDir(tmp, req.Dest)
	}
	if err != nil {
		os.RemoveAll(tmp)
	}
	return err
}

// writeEntries reads the archive a second time and writes each member. Every member must
// be the one scan approved at the same position; otherwise the file changed in between.
func writeEntries(ctx context.Context, req UnarchiveRequest, entries []entry, root string) error {
	ar, err := openArchive(req.Src)
	if err != nil {
		return err
	}
	defer ar.Close()

	w := writer{root: root, dirModes: map[string]fs.FileMode{}}
	i := 0
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		raw, body, err := ar.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		e, keep, err := normalize(raw, req.StripComponents)
		if err != nil || !keep {
			continue // scan refused or skipped it; the position check below catches a change
		}
		if i >= len(entries) || entries[i] != e {
			return errors.New("archive changed while being extracted")
		}
		i++
		if err := w.write(ctx, e, body); err != nil {
			return fmt.Errorf("%s: %w", e.name, err)
		}
	}
	if i != len(entries) {
		return errors.New("archive changed while being extracted")
	}
	// Directory modes last, so a read-only directory does not block its own members.
	for dir, mode := range w.dirModes {
		if err := os.Chmod(dir, mode); err != nil {
			return err
		}
	}
	return nil
}

// writer puts members under root and remembers directory modes to apply at the end.
type writer struct {
	root     string
	dirModes map[string]fs.FileMode
}

func (w writer) write(ctx context.Context, e entry, body io.Reader) error {
	target := filepath.Join(w.root, filepath.FromSlash(e.name))
	if e.kind == kindDir {
		w.dirModes[target] = e.mode | 0o700
		return os.MkdirAll(target, 0o755)
	}
	if err := clearPath(target); err != nil {
		return err
	}
	switch e.kind {
	case kindFile:
		return writeFile(ctx, target, e, body)
	case kindSymlink:
		return os.Symlink(e.link, target)
	case kindHardlink:
		return os.Link(filepath.Join(w.root, filepath.FromSlash(e.link)), target)
	}
	return fmt.Errorf("unexpected member type %d", e.kind)
}

// clearPath makes room for a member that repeats an earlier name. Removing instead of
// opening the old file for writing matters: the old name may be a hard link whose other name
// must keep its content.
func clearPath(target string) error {
	if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
		return err
	}
	info, err := os.Lstat(target)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if info.IsDir() {
		return errors.New("would replace a directory")
	}
	return os.Remove(target)
}

func writeFile(ctx context.Context, target string, e entry, body io.Reader) error {
	f, err := os.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	// One byte more than announced lets a member whose data outgrows its header be caught.
	n, err := io.Copy(f, ctxReader{ctx, io.LimitReader(body, e.size+1)})
	if err == nil && n != e.size {
		err = fmt.Errorf("holds %d bytes, its header says %d", n, e.size)
	}
	if err == nil {
		err = f.Chmod(e.mode)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// ctxReader stops a long copy when the context ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// replaceDir puts the complete directory tmp at dest. The previous dest is first moved into
// a fresh directory beside it, deleted only once tmp is in place, and moved back if that
// fails.
func replaceDir(tmp, dest string) error {
	if _, err := os.Lstat(dest); errors.Is(err, fs.ErrNotExist) {
		return os.Rename(tmp, dest)
	}
	trash, err := os.MkdirTemp(filepath.Dir(dest), tempPrefix(dest)+"old-*")
	if err != nil {
		return err
	}
	lock, err := hold(trash)
	if err != nil {
		os.Remove(trash)
		return err
	}
	defer lock.release()
	old := filepath.Join(trash, "previous")
	if err := os.Rename(dest, old); err != nil {
		os.Remove(trash)
		return err
	}
	if err := os.Rename(tmp, dest); err != nil {
		if rerr := os.Rename(old, dest); rerr != nil {
			return fmt.Errorf("%w; previous content kept at %s", err, old)
		}
		os.Remove(trash)
		return err
	}
	if err := os.RemoveAll(trash); err != nil {
		return fmt.Errorf("remove previous content at %s: %w", trash, err)
	}
	return nil
}
