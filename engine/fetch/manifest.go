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

// manifest lists what is under root, the marker excepted: each entry's path, size, mode
// and change time. The marker keeps the manifest of what was unpacked, so a later run sees a
// file deleted, added or modified in the directory (a modification moves the change time,
// which no tool can set back) and unpacks the archive again.
func manifest(root string) (string, error) {
	var lines []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if rel == "." || rel == markerName {
			return nil // the root's own times move when it is renamed into place
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
