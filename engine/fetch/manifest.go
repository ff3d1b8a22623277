package fetch

import (
	"fmt"
	"io/fs"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
)

// manifest lists the files and links under root, the marker excepted: each one's path,
// size, mode and change time, a line each. The marker keeps the manifest of what was
// unpacked, so a later run sees an unpacked file deleted or modified (a modification moves
// the change time, which no tool can set back) and unpacks the archive again. Directories
// are not listed, and files added later do not count: a role may build in an unpacked
// source tree (nginx-lb does), which adds files and so changes its directories' times.
func manifest(root string) (string, error) {
	var lines []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if d.IsDir() || rel == markerName {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		ctime := ""
		if st, ok := info.Sys().(*syscall.Stat_t); ok {
			ctime = fmt.Sprintf("%d.%09d", st.Ctim.Sec, st.Ctim.Nsec)
		}
		lines = append(lines, fmt.Sprintf("%s %d %o %s", strconv.Quote(rel), info.Size(), uint32(info.Mode()), ctime))
		return nil
	})
	sort.Strings(lines)
	return strings.Join(lines, "\n"), err
}

// unchanged reports whether every entry of the manifest was is still as listed in now.
func unchanged(was, now string) bool {
	have := map[string]bool{}
	for _, line := range strings.Split(now, "\n") {
		have[line] = true
	}
	for _, line := range strings.Split(was, "\n") {
		if line != "" && !have[line] {
			return false
		}
	}
	return true
}
