// Package output turns the runner's events into what people and machines read: colored
// Ansible-like lines with a recap, or one JSON object per line. It also renders HCL
// diagnostics with source snippets. The engine never prints; it emits events to a Sink.
package output

import "time"

// Sink receives events. Implementations must be safe for concurrent use: hosts report in
// parallel.
type Sink interface {
	Emit(e Event)
}

// Event is one thing that happened in a run. Type names the kind in JSON output.
type Event interface {
	Type() string
}

// Status is the outcome of a task on a host.
type Status string

// The outcomes, with Ansible's names.
const (
	StatusOK          Status = "ok"
	StatusChanged     Status = "changed"
	StatusSkipped     Status = "skipped"
	StatusFailed      Status = "failed"
	StatusUnreachable Status = "unreachable"
	// StatusIgnored is a failure the task's ignore_errors forgave.
	StatusIgnored Status = "ignored"
	// StatusInterrupted is a task that Ctrl-C cut short on the host: neither failed nor
	// done, and not counted in the recap, which names the host as interrupted instead.
	StatusInterrupted Status = "interrupted"
)

// PlayStart opens a play.
type PlayStart struct {
	Name  string   `json:"name"`
	Hosts []string `json:"hosts"`
}

// TaskStart opens a task (or handler).
type TaskStart struct {
	Play    string `json:"play"`
	Name    string `json:"name"`
	Role    string `json:"role,omitempty"`
	Handler bool   `json:"handler,omitempty"`
	Check   bool   `json:"check,omitempty"`
}

// HostResult is a task's outcome on one host.
type HostResult struct {
	Play     string        `json:"play"`
	Task     string        `json:"task"`
	Module   string        `json:"module"`
	Host     string        `json:"host"`
	Delegate string        `json:"delegate_to,omitempty"`
	Item     string        `json:"item,omitempty"`
	Status   Status        `json:"status"`
	Msg      string        `json:"msg,omitempty"`
	Command  string        `json:"command,omitempty"`
	Stdout   string        `json:"stdout,omitempty"`
	Stderr   string        `json:"stderr,omitempty"`
	RC       *int          `json:"rc,omitempty"`
	Diffs    []FileDiff    `json:"diffs,omitempty"`
	Duration time.Duration `json:"duration_ns"`
	Attempts int           `json:"attempts,omitempty"`
}

// FileDiff is a file's change, already redacted.
type FileDiff struct {
	Path   string `json:"path"`
	Before string `json:"before,omitempty"`
	After  string `json:"after,omitempty"`
	Note   string `json:"note,omitempty"`
}

// FactSource says where a host's facts came from.
type FactSource string

// The sources of facts, with the words `kplay facts` uses.
const (
	FactsFromCache FactSource = "cache"
	FactsGathered  FactSource = "gathered"
)

// FactsLoaded says where the facts a play uses for a host came from: the cache, with its
// age and the TTL it was trusted under, or a fresh gather.
type FactsLoaded struct {
	Host   string        `json:"host"`
	Source FactSource    `json:"source"`
	Age    time.Duration `json:"age_ns,omitempty"`
	TTL    time.Duration `json:"ttl_ns,omitempty"`
}

// Warning is something the user should know that is not a failure.
type Warning struct {
	Host string `json:"host,omitempty"`
	Msg  string `json:"msg"`
}

// Counts are a host's tallies for the recap.
type Counts struct {
	OK          int `json:"ok"`
	Changed     int `json:"changed"`
	Unreachable int `json:"unreachable"`
	Failed      int `json:"failed"`
	Skipped     int `json:"skipped"`
	Ignored     int `json:"ignored"`
	// Rescued counts failures a block's rescue tasks took over.
	Rescued int `json:"rescued"`
}

// Recap closes the run.
type Recap struct {
	Hosts       []string          `json:"hosts"`
	Counts      map[string]Counts `json:"counts"`
	Duration    time.Duration     `json:"duration_ns"`
	Interrupted bool              `json:"interrupted,omitempty"`
	// InFlight names, for an interrupted run, the hosts that were in the middle of a task
	// and the task.
	InFlight map[string]string `json:"in_flight,omitempty"`
	// Transferred is how many bytes were uploaded to hosts.
	Transferred int64 `json:"bytes_uploaded"`
}

func (PlayStart) Type() string   { return "play" }
func (TaskStart) Type() string   { return "task" }
func (HostResult) Type() string  { return "result" }
func (Warning) Type() string     { return "warning" }
func (FactsLoaded) Type() string { return "facts" }
func (Recap) Type() string       { return "recap" }
