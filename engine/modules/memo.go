package modules

import (
	"encoding/json"
	"sync"
)

// FileMemo remembers, for one host, the checksum of files kplay verified there, keyed by
// path and stamped with their size, modification time, change time and inode. A later run
// that finds the same stamp trusts the checksum instead of reading the whole file again,
// as rsync's quick check does: hashing every staged binary on every node made a no-op
// re-run of the site cost seconds. The change time is in the stamp because no tool can
// set it back: a file rewritten in place with its size and modification time restored
// (touch -r, cp -p, a restored backup) still gets a new stamp. Safe for concurrent use.
type FileMemo struct {
	mu      sync.Mutex
	entries map[string]memoEntry
	dirty   bool
}

type memoEntry struct {
	Stamp string `json:"stamp"`
	Sum   string `json:"sha256"`
}

// NewFileMemo returns an empty memo.
func NewFileMemo() *FileMemo { return &FileMemo{entries: map[string]memoEntry{}} }

// LoadFileMemo reads a memo saved by Marshal; a damaged one is an empty memo.
func LoadFileMemo(b []byte) *FileMemo {
	m := NewFileMemo()
	_ = json.Unmarshal(b, &m.entries)
	if m.entries == nil {
		m.entries = map[string]memoEntry{}
	}
	return m
}

// Marshal returns the memo to save, and whether it changed since it was loaded.
func (m *FileMemo) Marshal() ([]byte, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, _ := json.MarshalIndent(m.entries, "", "  ")
	return b, m.dirty
}

func (m *FileMemo) stamp(path string) string {
	if m == nil {
		return ""
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.entries[path].Stamp
}

func (m *FileMemo) sum(path string) string {
	if m == nil {
		return ""
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.entries[path].Sum
}

func (m *FileMemo) record(path, stamp, sum string) {
	if m == nil || stamp == "" {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.entries[path] != (memoEntry{stamp, sum}) {
		m.entries[path] = memoEntry{stamp, sum}
		m.dirty = true
	}
}

func (m *FileMemo) forget(path string) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.entries[path]; ok {
		delete(m.entries, path)
		m.dirty = true
	}
}
