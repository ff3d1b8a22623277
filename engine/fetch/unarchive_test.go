package fetch

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// member is one archive entry built by a test. typ is a tar type flag; zip archives use
// tar.TypeReg, tar.TypeDir and tar.TypeSymlink only.
type member struct {
	name string
	typ  byte
	body string
	link string
	mode int64
}

func file(name, body string) member   { return member{name: name, typ: tar.TypeReg, body: body} }
func dir(name string) member          { return member{name: name, typ: tar.TypeDir} }
func symlink(name, to string) member  { return member{name: name, typ: tar.TypeSymlink, link: to} }
func hardlink(name, to string) member { return member{name: name, typ: tar.TypeLink, link: to} }

func writeTar(t *testing.T, path string, gz bool, members ...member) string {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, m := range members {
		mode := m.mode
		if mode == 0 {
			mode = 0o644
		}
		hdr := &tar.Header{Name: m.name, Typeflag: m.typ, Linkname: m.link, Mode: mode, Size: int64(len(m.body))}
		if m.typ != tar.TypeReg {
			hdr.Size = 0
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(m.body))
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	if gz {
		data = gzipped(t, data)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func gzipped(t *testing.T, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(data)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func writeZip(t *testing.T, path string, members ...member) string {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, m := range members {
		hdr := &zip.FileHeader{Name: m.name, Method: zip.Deflate}
		body := m.body
		switch m.typ {
		case tar.TypeDir:
			hdr.SetMode(fs.ModeDir | 0o755)
		case tar.TypeSymlink:
			hdr.SetMode(fs.ModeSymlink | 0o777)
			body = m.link
		default:
			hdr.SetMode(0o644)
		}
		w, err := zw.CreateHeader(hdr)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(body))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// tree describes a directory: each path with its type, mode, and content or link target.
func tree(t *testing.T, root string) string {
	t.Helper()
	var lines []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		info, err := d.Info()
		if err != nil {
			return err
		}
		line := rel + " " + info.Mode().String()
		switch {
		case info.Mode()&fs.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			line += " -> " + target
		case info.Mode().IsRegular():
			data, _ := os.ReadFile(p)
			if rel == markerName {
				// Its manifest holds change times; the header says what was unpacked.
				data = data[:len(data)-len(strings.SplitAfterN(string(data), "\n", 3)[2])]
			}
			line += " " + string(data)
		}
		lines = append(lines, line)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

func unarchive(t *testing.T, req UnarchiveRequest, check bool) Decision {
	t.Helper()
	d, err := Unarchive(context.Background(), req, check)
	if err != nil {
		t.Fatalf("Unarchive %s: %v", req.Src, err)
	}
	return d
}

func TestUnarchiveStripsAndIsIdempotent(t *testing.T) {
	archives, stage := t.TempDir(), t.TempDir()
	src := writeTar(t, filepath.Join(archives, "etcd.tar.gz"), true,
		dir("etcd-v3.4.21/"),
		member{name: "etcd-v3.4.21/etcd", typ: tar.TypeReg, body: "etcd", mode: 0o4755},
		file("./etcd-v3.4.21/docs/README.md", "readme"),
		symlink("etcd-v3.4.21/etcd-link", "etcd"),
		file("top-level-file", "skipped by strip"),
	)
	req := UnarchiveRequest{Src: src, Dest: filepath.Join(stage, "etcd"), StripComponents: 1}

	if d := unarchive(t, req, true); !d.Changed || d.Reason != "not extracted yet" {
		t.Errorf("check: %+v", d)
	}
	assertOnlyEntries(t, stage)

	if d := unarchive(t, req, false); !d.Changed {
		t.Errorf("first run: %+v", d)
	}
	want := strings.Join([]string{
		". drwxr-xr-x",
		".kplay-unarchive -rw-r--r-- sha256:" + fileSum(t, src) + "\nstrip_components:1\n",
		"docs drwxr-xr-x",
		"docs/README.md -rw-r--r-- readme",
		"etcd -rwxr-xr-x etcd", // setuid dropped
		"etcd-link Lrwxrwxrwx -> etcd",
	}, "\n")
	if got := tree(t, req.Dest); got != want {
		t.Errorf("extracted tree:\n%s\nwant:\n%s", got, want)
	}

	before := tree(t, req.Dest)
	for _, check := range []bool{true, false} {
		if d := unarchive(t, req, check); d.Changed {
			t.Errorf("re-run (check %v): %+v, want unchanged", check, d)
		}
	}
	if tree(t, req.Dest) != before {
		t.Error("re-run modified the destination")
	}

	writeTar(t, src, true, file("etcd-v3.4.22/etcd", "etcd 3.4.22"))
	if d := unarchive(t, req, false); d.Reason != "archive or strip_components changed" {
		t.Errorf("new archive: %+v", d)
	}
	got := tree(t, req.Dest)
	if !strings.Contains(got, "etcd -rw-r--r-- etcd 3.4.22") || strings.Contains(got, "docs") {
		t.Errorf("new archive did not replace the old content:\n%s", got)
	}
	assertOnlyEntries(t, stage, "etcd")
}

func fileSum(t *testing.T, path string) string {
	t.Helper()
	s, _, err := fileSHA256(path)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestUnarchiveZipAndPlainTar(t *testing.T) {
	archives := t.TempDir()
	members := []member{dir("pkg/"), file("pkg/bin/tool", "tool"), symlink("pkg/tool", "bin/tool")}
	for _, src := range []string{
		writeZip(t, filepath.Join(archives, "a.zip"), members...),
		writeTar(t, filepath.Join(archives, "artifact.bin"), false, members...),
	} {
		dest := filepath.Join(t.TempDir(), "out")
		unarchive(t, UnarchiveRequest{Src: src, Dest: dest}, false)
		data, err := os.ReadFile(filepath.Join(dest, "pkg", "tool"))
		if err != nil || string(data) != "tool" {
			t.Errorf("%s: pkg/tool through its symlink: %q, %v", src, data, err)
		}
	}
}

func TestUnarchiveDropsGroupAndOtherWrite(t *testing.T) {
	src := writeTar(t, filepath.Join(t.TempDir(), "a.tar"), false,
		member{name: "d/", typ: tar.TypeDir, mode: 0o777},
		member{name: "d/f", typ: tar.TypeReg, body: "f", mode: 0o666},
	)
	dest := filepath.Join(t.TempDir(), "out")
	unarchive(t, UnarchiveRequest{Src: src, Dest: dest}, false)
	want := ". drwxr-xr-x\n.kplay-unarchive -rw-r--r-- sha256:" + fileSum(t, src) +
		"\nstrip_components:0\n\nd drwxr-xr-x\nd/f -rw-r--r-- f"
	if got := tree(t, dest); got != want {
		t.Errorf("tree:\n%s\nwant:\n%s", got, want)
	}
}

func TestUnarchiveHardLinks(t *testing.T) {
	src := writeTar(t, filepath.Join(t.TempDir(), "a.tar"), false,
		file("bin/a", "first"),
		hardlink("bin/b", "bin/a"),
		file("bin/a", "second"), // a repeated name replaces the file, not its other links
	)
	dest := filepath.Join(t.TempDir(), "out")
	unarchive(t, UnarchiveRequest{Src: src, Dest: dest}, false)
	assertContent(t, filepath.Join(dest, "bin", "a"), "second")
	assertContent(t, filepath.Join(dest, "bin", "b"), "first")
}

func TestUnarchiveRefusesHostileArchives(t *testing.T) {
	zeros := make([]byte, 8<<20) // compresses to a few kilobytes
	cases := []struct {
		name    string
		build   func(t *testing.T, path string) string
		req     UnarchiveRequest
		wantErr string
	}{
		{"dot-dot", tarOf(file("../x", "evil")), UnarchiveRequest{}, `path contains ".."`},
		{"dot-dot inside", tarOf(file("a/../../x", "evil")), UnarchiveRequest{}, `path contains ".."`},
		{"absolute", tarOf(file("/etc/x", "evil")), UnarchiveRequest{}, "absolute path"},
		{"symlink to root then through it", tarOf(symlink("l", "/"), file("l/etc/passwd", "evil")),
			UnarchiveRequest{}, "points outside the destination"},
		{"symlink up", tarOf(dir("a/"), symlink("a/l", "../../x")), UnarchiveRequest{}, "points outside"},
		{"file through inner symlink", tarOf(dir("sub/"), symlink("l", "sub"), file("l/x", "x")),
			UnarchiveRequest{}, "path goes through symlink l"},
		{"symlink through symlink", tarOf(dir("d/"), symlink("d/s", "../x"), symlink("t", "d/s/../..")),
			UnarchiveRequest{}, "goes through symlink d/s"},
		{"symlink replaced by dir", tarOf(symlink("l", "."), dir("l/")), UnarchiveRequest{}, "once as a symlink"},
		{"hard link out", tarOf(hardlink("h", "../../etc/passwd")), UnarchiveRequest{}, `path contains ".."`},
		{"hard link absolute", tarOf(hardlink("h", "/etc/passwd")), UnarchiveRequest{}, "absolute path"},
		{"hard link to nothing", tarOf(hardlink("h", "nothing")), UnarchiveRequest{},
			"not a regular file earlier"},
		{"char device", tarOf(member{name: "null", typ: tar.TypeChar}), UnarchiveRequest{}, "devices, fifos"},
		{"fifo", tarOf(member{name: "pipe", typ: tar.TypeFifo}), UnarchiveRequest{}, "devices, fifos"},
		{"marker name", tarOf(file(".kplay-unarchive", "forged")), UnarchiveRequest{}, "reserved"},
		{"zip slip", zipOf(file("../../evil", "evil")), UnarchiveRequest{}, `path contains ".."`},
		{"zip absolute", zipOf(file("/tmp/evil", "evil")), UnarchiveRequest{}, "absolute path"},
		{"zip symlink out", zipOf(symlink("l", "/"), file("l/x", "x")), UnarchiveRequest{}, "points outside"},
		{"bomb", tarOf(file("big", string(make([]byte, 2000)))), UnarchiveRequest{MaxBytes: 1000}, "max_bytes"},
		{"gzip bomb", tarOf(file("zeros", string(zeros))), UnarchiveRequest{MaxBytes: 1 << 20}, "max_bytes"},
		{"too many members", tarOf(file("a", ""), file("b", ""), file("c", "")),
			UnarchiveRequest{MaxFiles: 2}, "max_files"},
		{"not an archive", func(t *testing.T, p string) string {
			os.WriteFile(p, []byte("plain text"), 0o644)
			return p
		}, UnarchiveRequest{}, "not a tar"},
		{"truncated gzip", func(t *testing.T, p string) string {
			tarOf(file("a", strings.Repeat("data", 1000)))(t, p)
			data, _ := os.ReadFile(p)
			os.WriteFile(p, data[:len(data)/2], 0o644)
			return p
		}, UnarchiveRequest{}, "unexpected EOF"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			stage := t.TempDir()
			dest := filepath.Join(stage, "dest")
			good := writeTar(t, filepath.Join(t.TempDir(), "good.tar"), false, file("previous", "content"))
			unarchive(t, UnarchiveRequest{Src: good, Dest: dest}, false)
			before := tree(t, dest)

			req := tc.req
			req.Src, req.Dest = tc.build(t, filepath.Join(t.TempDir(), "hostile")), dest
			for _, check := range []bool{true, false} {
				_, err := Unarchive(context.Background(), req, check)
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Errorf("check %v: error %v, want one containing %q", check, err, tc.wantErr)
				}
			}
			if tree(t, dest) != before {
				t.Errorf("destination modified:\n%s", tree(t, dest))
			}
			assertOnlyEntries(t, stage, "dest")
		})
	}
}

func tarOf(members ...member) func(*testing.T, string) string {
	return func(t *testing.T, path string) string { return writeTar(t, path, true, members...) }
}

func zipOf(members ...member) func(*testing.T, string) string {
	return func(t *testing.T, path string) string { return writeZip(t, path, members...) }
}

func TestUnarchiveLeavesForeignDirectoryAlone(t *testing.T) {
	src := writeTar(t, filepath.Join(t.TempDir(), "a.tar"), false, file("a", "a"))
	dest := t.TempDir()
	os.WriteFile(filepath.Join(dest, "precious"), []byte("mine"), 0o644)

	_, err := Unarchive(context.Background(), UnarchiveRequest{Src: src, Dest: dest}, false)
	if err == nil || !strings.Contains(err.Error(), "not extracted by kplay") {
		t.Fatalf("error %v, want a refusal to replace the directory", err)
	}
	assertContent(t, filepath.Join(dest, "precious"), "mine")

	// An empty directory, such as one an earlier task created, is fine.
	empty := t.TempDir()
	unarchive(t, UnarchiveRequest{Src: src, Dest: empty}, false)
	assertContent(t, filepath.Join(empty, "a"), "a")
}

func TestUnarchiveStripChangeReextracts(t *testing.T) {
	src := writeTar(t, filepath.Join(t.TempDir(), "a.tgz"), true, file("top/bin/x", "x"))
	dest := filepath.Join(t.TempDir(), "out")
	unarchive(t, UnarchiveRequest{Src: src, Dest: dest, StripComponents: 1}, false)
	assertContent(t, filepath.Join(dest, "bin", "x"), "x")

	d := unarchive(t, UnarchiveRequest{Src: src, Dest: dest, StripComponents: 2}, false)
	if !d.Changed {
		t.Errorf("strip change: %+v, want changed", d)
	}
	assertContent(t, filepath.Join(dest, "x"), "x")
	if _, err := os.Stat(filepath.Join(dest, "bin")); err == nil {
		t.Error("content of the previous extraction survived")
	}
}

func TestUnarchiveMissingSource(t *testing.T) {
	req := UnarchiveRequest{
		Src:  filepath.Join(t.TempDir(), "not-yet.tgz"),
		Dest: filepath.Join(t.TempDir(), "out"),
	}
	if d := unarchive(t, req, true); !d.Changed || d.Reason != "archive not downloaded yet" {
		t.Errorf("check: %+v", d)
	}
	if _, err := Unarchive(context.Background(), req, false); err == nil {
		t.Error("missing archive accepted outside check mode")
	}
	if _, err := os.Stat(req.Dest); err == nil {
		t.Error("destination created")
	}
}

// A file deleted or tampered with (even with its size and time put back) in the unpacked
// directory makes the next run unpack it again; an untouched one, or one with files added
// (a build in an unpacked source tree), does not.
func TestUnarchiveRepairsDrift(t *testing.T) {
	archives, stage := t.TempDir(), t.TempDir()
	src := writeTar(t, filepath.Join(archives, "k.tar.gz"), true,
		file("bin/a", "aaaa"), file("bin/b", "bbbb"))
	req := UnarchiveRequest{Src: src, Dest: filepath.Join(stage, "k")}
	unarchive(t, req, false)
	want := tree(t, req.Dest)
	if d := unarchive(t, req, false); d.Changed {
		t.Fatalf("untouched directory unpacked again: %+v", d)
	}
	b := filepath.Join(req.Dest, "bin/b")
	for name, drift := range map[string]func(){
		"deleted": func() { os.Remove(filepath.Join(req.Dest, "bin/a")) },
		"tampered in place": func() {
			st, _ := os.Stat(b)
			time.Sleep(10 * time.Millisecond)
			os.WriteFile(b, []byte("EVIL"), 0o644)
			os.Chtimes(b, st.ModTime(), st.ModTime())
		},
	} {
		drift()
		if d := unarchive(t, req, true); !d.Changed {
			t.Errorf("%s: check mode saw nothing to do", name)
		}
		if d := unarchive(t, req, false); !d.Changed || d.Reason != "its content changed since it was unpacked" {
			t.Errorf("%s: %+v", name, d)
		}
		if got := tree(t, req.Dest); got != want {
			t.Errorf("%s: not repaired:\n%s", name, got)
		}
	}
	os.MkdirAll(filepath.Join(req.Dest, "objs"), 0o755)
	os.WriteFile(filepath.Join(req.Dest, "objs/built"), []byte("x"), 0o755)
	os.WriteFile(filepath.Join(req.Dest, "bin/Makefile"), []byte("x"), 0o644)
	if d := unarchive(t, req, false); d.Changed {
		t.Errorf("files added to the directory unpacked it again: %+v", d)
	}
}
