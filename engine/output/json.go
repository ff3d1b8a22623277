package output

import (
	"encoding/json"
	"io"
	"sync"
	"time"
)

// JSON writes one JSON object per event and line: {"type": ..., "time": ..., "event": {...}}.
type JSON struct {
	mu  sync.Mutex
	enc *json.Encoder
}

// NewJSON writes events to w.
func NewJSON(w io.Writer) *JSON { return &JSON{enc: json.NewEncoder(w)} }

// Emit writes e.
func (j *JSON) Emit(e Event) {
	j.mu.Lock()
	defer j.mu.Unlock()
	_ = j.enc.Encode(struct {
		Type  string    `json:"type"`
		Time  time.Time `json:"time"`
		Event Event     `json:"event"`
	}{e.Type(), time.Now().UTC(), e})
}
