package output

import (
	"encoding/json"
	"io"
	"sync"
)

// JSON writes one JSON object per event and line: {"type": ..., "time": ..., ...fields}.
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
		Type  string `json:"type"`
		Event Event  `json:"event"`
	}{e.Type(), e})
}
