package modules

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"sync"
	"syscall"
	"unicode/utf8"

	"github.com/zclconf/go-cty/cty"

	"github.com/kplay-dev/kplay/engine/eval/funcs"
)

// source is content to put on a host: bytes in memory, or a file on the deploy host.
type source struct {
	data []byte
	open func() (io.ReadCloser, error)
	size int64
	// checksum is the content's sha256 in hex; for a file it may still be being computed.
	checksum func(context.Context) (string, error)
}

func bytesSource(b []byte) *source {
	sum := sha256.Sum256(b)
	hexSum := hex.EncodeToString(sum[:])
	return &source{data: b, size: int64(len(b)),
		checksum: func(context.Context) (string, error) { return hexSum, nil },
		open:     func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }}
}

// hashCache remembers the checksums of deploy-host files by path, size and modification
// time, so a task does not read hundreds of megabytes of binaries again per host. Hosts
// asking at the same time share one reading of the file: a first deploy to every node at
// once would otherwise hash each binary once per node, on the CPU the uploads need. The
// reading starts at once and runs beside the probe and, for a file the host lacks, beside
// the upload, which does not need the checksum.
var hashCache sync.Map // hashKey → *hashEntry

type hashKey struct {
	path, stamp string
}

type hashEntry struct {
	done chan struct{}
	sum  string
	err  error
	// stable is set when the file's stamp after the reading is the one before it: only
	// then does the checksum belong to that stamp, and only then is it remembered.
	stable bool
}

// fileSource is a deploy-host file. Its checksum comes from memo when the file's stamp (size,
// modification and change times, inode) is the one recorded, else from reading it, once
// for all callers; a checksum read is recorded in memo.
func fileSource(path string, memo *FileMemo) (*source, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	src := &source{size: st.Size(), open: func() (io.ReadCloser, error) { return os.Open(path) }}
	stamp := localStamp(st)
	if sum := memo.sum(path); sum != "" && memo.stamp(path) == stamp {
		src.checksum = func(context.Context) (string, error) { return sum, nil }
		return src, nil
	}
	key := hashKey{path, stamp}
	v, loaded := hashCache.LoadOrStore(key, &hashEntry{done: make(chan struct{})})
	e := v.(*hashEntry)
	if !loaded {
		go func() {
			e.sum, e.err = readSum(path)
			if after, err := os.Stat(path); err == nil && localStamp(after) == stamp {
				e.stable = true
			}
			if e.err != nil || !e.stable {
				hashCache.CompareAndDelete(key, e) // the next task reads it again
			}
			close(e.done)
		}()
	}
	src.checksum = func(ctx context.Context) (string, error) {
		select {
		case <-e.done:
			if e.err == nil && e.stable {
				memo.record(path, stamp, e.sum)
			}
			return e.sum, e.err
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
	return src, nil
}

// localStamp identifies a version of a deploy-host file without reading it. The change
// time is in it because no tool can set it back: a file rewritten with its size and
// modification time kept still gets a new stamp.
func localStamp(st os.FileInfo) string {
	stamp := fmt.Sprintf("%d:%d", st.Size(), st.ModTime().UnixNano())
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		stamp += fmt.Sprintf(":%d.%09d:%d", sys.Ctim.Sec, sys.Ctim.Nsec, sys.Ino)
	}
	return stamp
}

// readSum reads a file to hash it; a variable so a test can count the readings.
var readSum = hashFile

func hashFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func fsSource(fsys fs.FS, name string) (*source, error) {
	b, err := fs.ReadFile(fsys, name)
	if err != nil {
		return nil, err
	}
	return bytesSource(b), nil
}

// remoteState is one probe of the destination: its checksum, mode, owner and group, and
// whether its directory exists, in one round trip.
type remoteState struct {
	exists, dirOK                bool
	sum, mode, owner, grp, stamp string
}

// The stamp is size, modification and change times and inode; with STAMP given and
// matching, the checksum is not computed ("memo"), nor when the size is not the SIZE wanted
// ("size"). One stat and no dirname: the probe runs for every copy on every host and run.
const probeScript = `if [ -f "$P" ]; then
  set -- $(stat -c '%s:%.9Y:%.9Z:%i %a %U %G' "$P")
  if [ -n "$STAMP" ] && [ "$1" = "$STAMP" ]; then sum=memo
  elif [ "${1%%:*}" != "$SIZE" ]; then sum=size
  else sum=$(sha256sum < "$P" | cut -c1-64); fi
  echo "exists $sum $2 $3 $4 $1"
elif [ -e "$P" ]; then echo "notfile"
else echo "absent"; fi
d=${P%/*}; [ -d "${d:-/}" ] && echo dirok
`

func probe(ctx context.Context, t *Target, path string, size int64) (*remoteState, error) {
	stamp := t.Memo.stamp(path)
	res, err := t.Run(ctx, fmt.Sprintf("P=%s; STAMP=%s; SIZE=%d; %s", funcs.ShellQuote(path), funcs.ShellQuote(stamp), size, probeScript), nil)
	if err != nil {
		return nil, err
	}
	st := &remoteState{}
	for _, line := range strings.Split(string(res.Stdout), "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) == 6 && f[0] == "exists":
			st.exists, st.sum, st.mode, st.owner, st.grp, st.stamp = true, f[1], f[2], f[3], f[4], f[5]
			switch st.sum {
			case "memo":
				st.sum = t.Memo.sum(path)
			case "size": // not hashed: it differs anyway
			default:
				t.Memo.record(path, st.stamp, st.sum)
			}
		case len(f) == 1 && f[0] == "notfile":
			return nil, fmt.Errorf("%s exists and is not a regular file", path)
		case len(f) == 1 && f[0] == "dirok":
			st.dirOK = true
		}
	}
	return st, nil
}

// maxDiff is the largest file whose content a diff shows.
const maxDiff = 256 << 10

// put makes path on the target hold src with the given mode, owner and group. The upload
// is skipped when the checksums match; attributes are fixed separately.
func put(ctx context.Context, c *Call, path string, src *source, mode uint32, owner, group string) (*Result, error) {
	st, err := probe(ctx, c.Target, path, src.size)
	if err != nil {
		return nil, err
	}
	if !st.dirOK {
		if c.Check {
			// An earlier task would have created it; check mode did not.
			return &Result{Changed: true, Msg: "check mode: its directory does not exist yet"}, nil
		}
		return nil, fmt.Errorf("directory of %s does not exist: create it first with a file task", path)
	}
	r := &Result{}
	differs := !st.exists || st.sum == "size"
	if !differs {
		sum, err := src.checksum(ctx)
		if err != nil {
			return nil, err
		}
		differs = st.sum != sum
	}
	if differs {
		r.Changed = true
		r.Msg = "content changed"
		if !st.exists {
			r.Msg = "created"
		}
		if c.Diff {
			r.Diffs = append(r.Diffs, fileDiff(ctx, c, path, st.exists, src))
		}
		if !c.Check {
			c.Target.Memo.forget(path) // the new file's stamp is learnt on the next run
			if err := upload(ctx, c.Target, path, src, mode); err != nil {
				return nil, err
			}
			st.mode = statMode(mode)
		}
	}
	attrs := map[string]string{"P": path, "MODE": "", "OWNER": owner, "GROUP": group}
	if st.exists && st.mode != statMode(mode) {
		attrs["MODE"] = statMode(mode)
	}
	if attrs["MODE"] != "" || (owner != "" && owner != st.owner) || (group != "" && group != st.grp) {
		if !(c.Check && !st.exists) {
			sr, err := runScript(ctx, c, attrs, attrScript)
			if err != nil {
				return nil, err
			}
			r.Changed = r.Changed || sr.changed
			if r.Msg == "" {
				r.Msg = strings.Join(sr.msgs, "; ")
			}
		}
	}
	sum, err := src.checksum(ctx)
	if err != nil {
		return nil, err
	}
	r.Data = map[string]cty.Value{"checksum": cty.StringVal(sum)}
	return r, nil
}

func upload(ctx context.Context, t *Target, path string, src *source, mode uint32) error {
	rc, err := src.open()
	if err != nil {
		return err
	}
	defer rc.Close()
	return t.WriteFile(ctx, path, rc, fs.FileMode(mode))
}

func fileDiff(ctx context.Context, c *Call, path string, exists bool, src *source) Diff {
	d := Diff{Path: path}
	if src.size > maxDiff {
		d.Note = fmt.Sprintf("content differs (%d bytes, too large to show)", src.size)
		if !exists {
			d.Note = fmt.Sprintf("new file (%d bytes, too large to show)", src.size)
		}
		return d
	}
	after := src.data
	if after == nil {
		rc, err := src.open()
		if err == nil {
			after, _ = io.ReadAll(rc)
			rc.Close()
		}
	}
	var before []byte
	if exists {
		b, err := c.Target.ReadFile(ctx, path, maxDiff)
		if err != nil {
			d.Note = "content differs (current file could not be read: " + err.Error() + ")"
			return d
		}
		before = b
	}
	if !utf8.Valid(before) || !utf8.Valid(after) || bytes.IndexByte(after, 0) >= 0 {
		d.Note = "binary content differs"
		return d
	}
	if c.Redact(string(after)) != string(after) {
		// A sensitive value is in the new content, so the old content likely holds its
		// previous value, which the redactor does not know: show neither.
		d.Note = "content differs (it holds a sensitive value: not shown)"
		return d
	}
	d.Before, d.After = string(before), string(after)
	return d
}
