package runner

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"sync"

	"github.com/kplay-dev/kplay/engine/connection"
	"github.com/kplay-dev/kplay/engine/internal/atomicfile"
	"github.com/kplay-dev/kplay/engine/inventory"
	"github.com/kplay-dev/kplay/engine/modules"
)

// stageLog remembers, per host, the directories the run has written files into. A write
// stages its data in a private entry beside the destination and removes it when done; a run
// killed mid-write (SIGKILL, a lost connection) cannot, and the entry would stay on the
// node for good. The directories, with the run's stage tag (connection.StageTag), are on
// disk before the first entry exists, so the next run knows where to sweep and which
// entries are the dead run's; a run that ends with the host reachable forgets them.
type stageLog struct {
	dir string
	mu  sync.Mutex
	// dirs maps host → directory → what was staged there.
	dirs map[string]map[string]stagedDir
}

// stagedDir says whose entries a directory may hold and whether removing them needs root.
type stagedDir struct {
	Root bool     `json:"root"`
	Tags []string `json:"tags"`
}

func (s *stageLog) path(host string) string { return filepath.Join(s.dir, host+".json") }

// note records dir for host and this process's tag, writing the record only when that
// adds something.
func (s *stageLog) note(host, dir string, root bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dirs == nil {
		s.dirs = map[string]map[string]stagedDir{}
	}
	m := s.dirs[host]
	if m == nil {
		m = s.read(host)
		s.dirs[host] = m
	}
	d := m[dir]
	if slices.Contains(d.Tags, connection.StageTag) && (d.Root || !root) {
		return nil
	}
	d.Root = d.Root || root
	if !slices.Contains(d.Tags, connection.StageTag) {
		d.Tags = append(d.Tags, connection.StageTag)
	}
	m[dir] = d
	b, _ := json.Marshal(m)
	return atomicfile.Write(s.path(host), b, 0o600)
}

func (s *stageLog) read(host string) map[string]stagedDir {
	m := map[string]stagedDir{}
	if b, err := os.ReadFile(s.path(host)); err == nil {
		_ = json.Unmarshal(b, &m)
	}
	return m
}

// earlier returns what earlier runs recorded for host and did not forget: the directories
// sorted, the tags of the runs, and whether any directory needs root.
func (s *stageLog) earlier(host string) (dirs, tags []string, root bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for d, st := range s.read(host) {
		dirs = append(dirs, d)
		root = root || st.Root
		for _, tag := range st.Tags {
			if !slices.Contains(tags, tag) {
				tags = append(tags, tag)
			}
		}
	}
	sort.Strings(dirs)
	sort.Strings(tags)
	return dirs, tags, root
}

// forget drops host's record: nothing of its is left to sweep.
func (s *stageLog) forget(host string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.dirs, host)
	if err := os.Remove(s.path(host)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// sweepStages removes the staging entries an earlier, killed run left on h, once, when the
// run first connects to it. A failed sweep only costs disk space and is retried next run.
func (r *Runner) sweepStages(ctx context.Context, h *inventory.Host, hc *hostConn) {
	dirs, tags, root := r.stages.earlier(h.Name)
	if len(dirs) == 0 || len(tags) == 0 {
		return
	}
	hc.unswept = true
	if r.Opts.Check {
		return
	}
	t := modules.NewTarget(h.Name, hc.conn, h.Local(), hc.user, &hc.probe).WithBecome(root)
	res, err := t.Run(ctx, modules.SweepStagesCommand(dirs, tags), nil)
	r.Log.Debug("sweep staging entries", "host", h.Name, "dirs", dirs, "err", err)
	if err != nil || res.ExitCode != 0 {
		return
	}
	hc.unswept = false
}

// forgetStages drops the records of hosts that ended the run reachable and swept: every
// write there removed its own staging entry. A host this run never connected to keeps its
// record.
func (r *Runner) forgetStages() {
	r.mu.Lock()
	var done []string
	for name, st := range r.hosts {
		if hc := r.conns[name]; !st.unreachable && hc != nil && hc.conn != nil && !hc.unswept {
			done = append(done, name)
		}
	}
	r.mu.Unlock()
	for _, name := range done {
		if err := r.stages.forget(name); err != nil {
			r.Log.Warn("forgetting staging directories", "host", name, "err", err)
		}
	}
}
