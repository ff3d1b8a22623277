package runner

import (
	"context"
	"encoding/json"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/zclconf/go-cty/cty"

	"github.com/kplay-dev/kplay/engine/connection"
	"github.com/kplay-dev/kplay/engine/internal/atomicfile"
	"github.com/kplay-dev/kplay/engine/inventory"
	"github.com/kplay-dev/kplay/engine/output"
)

// hostState is what the run knows of one host. Only the goroutine running a task on the
// host touches it during the task; the runner reads it between tasks.
type hostState struct {
	host       *inventory.Host
	registered map[string]cty.Value
	counts     output.Counts
	// failed and unreachable hosts take no further part in the run.
	failed, unreachable bool
	// notified holds the handlers (by full name) notified and not yet run.
	notified map[string]bool
	// factsReady is set once this run has the host's facts (cached or gathered) and its
	// connection.
	factsReady bool
	// interrupted names the task a cancelled run cut short on this host.
	interrupted string
}

func (s *hostState) out() bool { return s.failed || s.unreachable }

func (s *hostState) registeredCopy() map[string]cty.Value {
	c := make(map[string]cty.Value, len(s.registered))
	for k, v := range s.registered {
		c[k] = v
	}
	return c
}

type countingBytes struct{ n atomic.Int64 }

func (c *countingBytes) load() int64 { return c.n.Load() }

// countingConn counts the bytes the run uploads, for the recap: a re-run that changes
// nothing should upload nothing, and this proves it.
type countingConn struct {
	connection.Conn
	n *countingBytes
}

func (c *countingConn) WriteFile(ctx context.Context, path string, r io.Reader, mode fs.FileMode) error {
	return c.Conn.WriteFile(ctx, path, &countingReader{r: r, n: c.n}, mode)
}

type countingReader struct {
	r io.Reader
	n *countingBytes
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.n.Add(int64(n))
	return n, err
}

// pendingStore keeps notified handlers that have not run yet, one file per host in the
// state directory, so a run that dies between a change and its handler (a failed task, a
// Ctrl-C) leaves the restart to the next run instead of losing it.
type pendingStore struct {
	dir string
	mu  sync.Mutex
}

func (p *pendingStore) path(host string) string { return filepath.Join(p.dir, host+".json") }

// load returns the host's pending handler names.
func (p *pendingStore) load(host string) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	b, err := os.ReadFile(p.path(host))
	if err != nil {
		return nil
	}
	var names []string
	_ = json.Unmarshal(b, &names)
	return names
}

// save replaces the host's pending handlers; an empty set removes the file.
func (p *pendingStore) save(host string, set map[string]bool) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	var names []string
	for n, on := range set {
		if on {
			names = append(names, n)
		}
	}
	if len(names) == 0 {
		err := os.Remove(p.path(host))
		if os.IsNotExist(err) {
			return nil
		}
		return err
	}
	sort.Strings(names)
	b, _ := json.Marshal(names)
	return atomicfile.Write(p.path(host), b, 0o600)
}
