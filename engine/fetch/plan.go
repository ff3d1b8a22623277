package fetch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"
)

// entry is an archive member that passed every check, with its path relative to the
// destination after StripComponents.
type entry struct {
	name string // slash-separated, clean, never empty, absolute or containing ".."
	kind entryKind
	mode fs.FileMode
	size int64
	link string // symlink: target as written; hard link: a path relative to the destination
}

// scan reads the whole archive once without writing anything and returns the members to
// extract, or the first reason to refuse it: a path that is absolute or contains "..", a
// link that leads out of the destination, a special file, or more bytes or members than
// the limits allow.
func scan(ctx context.Context, req UnarchiveRequest) ([]entry, error) {
	ar, err := openArchive(req.Src)
	if err != nil {
		return nil, err
	}
	defer ar.Close()

	var entries []entry
	var members int
	var total int64
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		raw, _, err := ar.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		if members++; members > req.MaxFiles {
			return nil, fmt.Errorf("more than %d members (max_files)", req.MaxFiles)
		}
		e, keep, err := normalize(raw, req.StripComponents)
		if err != nil {
			return nil, err
		}
		if !keep {
			continue
		}
		if e.size > req.MaxBytes-total {
			return nil, fmt.Errorf("content exceeds %d bytes (max_bytes)", req.MaxBytes)
		}
		total += e.size
		entries = append(entries, e)
	}
	return entries, checkLinks(entries)
}

// normalize checks one member on its own and applies StripComponents. keep is false for a
// member that stripping removes entirely, such as the top-level directory.
func normalize(raw rawEntry, strip int) (e entry, keep bool, err error) {
	if raw.kind == kindSpecial {
		return entry{}, false, fmt.Errorf("%s: devices, fifos and sparse files are not allowed", raw.name)
	}
	name, keep, err := relPath(raw.name, strip)
	if err != nil || !keep {
		return entry{}, false, err
	}
	if name == markerName {
		return entry{}, false, fmt.Errorf("%s: name is reserved for kplay's marker file", raw.name)
	}
	// Nothing in the stage should be writable by others: zip archives made on systems
	// without Unix modes report 0666 for every file.
	mode := raw.mode &^ 0o022
	e = entry{name: name, kind: raw.kind, mode: mode, size: raw.size, link: raw.link}
	switch raw.kind {
	case kindSymlink:
		if raw.link == "" {
			return entry{}, false, fmt.Errorf("%s: symlink with an empty target", raw.name)
		}
	case kindHardlink:
		target, ok, err := relPath(raw.link, strip)
		if err != nil {
			return entry{}, false, fmt.Errorf("%s: hard link target: %w", raw.name, err)
		}
		if !ok {
			return entry{}, false, fmt.Errorf("%s: hard link target %s is stripped away", raw.name, raw.link)
		}
		e.link = target
	}
	return e, true, nil
}

// relPath drops "." and empty components without counting them for strip, refuses ".." in
// any position rather than trying to decide when it is harmless, and refuses absolute paths.
func relPath(name string, strip int) (string, bool, error) {
	if strings.HasPrefix(name, "/") {
		return "", false, fmt.Errorf("%s: absolute path", name)
	}
	var parts []string
	for _, p := range strings.Split(name, "/") {
		switch p {
		case "", ".":
			continue
		case "..":
			return "", false, fmt.Errorf("%s: path contains \"..\"", name)
		}
		parts = append(parts, p)
	}
	if len(parts) <= strip {
		return "", false, nil
	}
	return strings.Join(parts[strip:], "/"), true, nil
}

// checkLinks makes sure no member is written through a symlink and no link resolves outside
// the destination. Symlink targets are resolved lexically, which is exact here because the
// archive is extracted into a fresh directory: the only symlinks there are the archive's
// own, and a target may not pass through any of them.
func checkLinks(entries []entry) error {
	symlinks := map[string]bool{}
	for _, e := range entries {
		if e.kind == kindSymlink {
			symlinks[e.name] = true
		}
	}
	seen := map[string]entryKind{}
	files := map[string]bool{}
	for _, e := range entries {
		if prev, dup := seen[e.name]; dup && (prev == kindSymlink || e.kind == kindSymlink) {
			return fmt.Errorf("%s: appears more than once, once as a symlink", e.name)
		}
		seen[e.name] = e.kind
		if link := symlinkAncestor(e.name, symlinks); link != "" {
			return fmt.Errorf("%s: path goes through symlink %s", e.name, link)
		}
		switch e.kind {
		case kindFile:
			files[e.name] = true
		case kindSymlink:
			if err := checkSymlinkTarget(e.name, e.link, symlinks); err != nil {
				return err
			}
		case kindHardlink:
			if !files[e.link] {
				return fmt.Errorf("%s: hard link target %s is not a regular file earlier in the archive",
					e.name, e.link)
			}
		}
	}
	return nil
}

func symlinkAncestor(name string, symlinks map[string]bool) string {
	for i := range len(name) {
		if name[i] == '/' && symlinks[name[:i]] {
			return name[:i]
		}
	}
	return ""
}

func checkSymlinkTarget(name, target string, symlinks map[string]bool) error {
	if path.IsAbs(target) {
		return fmt.Errorf("%s: symlink to %s points outside the destination", name, target)
	}
	var cur []string
	if dir := path.Dir(name); dir != "." {
		cur = strings.Split(dir, "/")
	}
	var parts []string
	for _, p := range strings.Split(target, "/") {
		if p != "" && p != "." {
			parts = append(parts, p)
		}
	}
	for i, p := range parts {
		if p == ".." {
			if len(cur) == 0 {
				return fmt.Errorf("%s: symlink to %s points outside the destination", name, target)
			}
			cur = cur[:len(cur)-1]
			continue
		}
		cur = append(cur, p)
		if via := strings.Join(cur, "/"); i < len(parts)-1 && symlinks[via] {
			return fmt.Errorf("%s: symlink to %s goes through symlink %s", name, target, via)
		}
	}
	return nil
}
