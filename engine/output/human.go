package output

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/fatih/color"
)

// Human writes Ansible-like lines: a header per play and task, a line per host, a recap.
// Color follows fatih/color's rules: off for NO_COLOR and when w is not a terminal.
type Human struct {
	mu      sync.Mutex
	w       io.Writer
	Verbose int
	// ShowDiff prints file diffs under a changed host's line.
	ShowDiff bool

	green, yellow, red, cyan, magenta, bold func(a ...any) string

	// slowest holds each task's longest time on any host, for the -v timing summary.
	slowest map[string]time.Duration
	order   []string
}

// NewHuman writes to w; noColor forces plain text.
func NewHuman(w io.Writer, verbose int, showDiff, noColor bool) *Human {
	mk := func(attrs ...color.Attribute) func(a ...any) string {
		c := color.New(attrs...)
		if noColor {
			c.DisableColor()
		}
		return c.SprintFunc()
	}
	return &Human{
		w: w, Verbose: verbose, ShowDiff: showDiff,
		green: mk(color.FgGreen), yellow: mk(color.FgYellow), red: mk(color.FgRed),
		cyan: mk(color.FgCyan), magenta: mk(color.FgMagenta), bold: mk(color.Bold),
	}
}

// Emit prints e.
func (h *Human) Emit(e Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch e := e.(type) {
	case PlayStart:
		fmt.Fprintf(h.w, "\n%s\n", banner("PLAY ["+e.Name+"]"))
	case TaskStart:
		kind := "TASK"
		if e.Handler {
			kind = "RUNNING HANDLER"
		}
		name := e.Name
		if e.Role != "" {
			name = e.Role + " : " + e.Name
		}
		fmt.Fprintf(h.w, "\n%s\n", banner(kind+" ["+name+"]"))
	case HostResult:
		h.result(e)
	case Warning:
		prefix := "[WARNING]"
		if e.Host != "" {
			prefix += " " + e.Host + ":"
		}
		fmt.Fprintf(h.w, "%s %s\n", h.magenta(prefix), e.Msg)
	case FactsLoaded:
		if h.Verbose > 0 {
			fmt.Fprintln(h.w, factsLine(e))
		}
	case Recap:
		h.recap(e)
	}
}

// factsLine says where a host's facts came from, as -v shows it.
func factsLine(e FactsLoaded) string {
	if e.Source == FactsFromCache {
		return fmt.Sprintf("facts %s: cached %s ago (ttl %s)", e.Host, shortDuration(e.Age), shortDuration(e.TTL))
	}
	return fmt.Sprintf("facts %s: %s", e.Host, e.Source)
}

// shortDuration writes d to the second without zero units: 1h, 2h30m, 3m12s.
func shortDuration(d time.Duration) string {
	s := d.Round(time.Second).String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

func banner(title string) string {
	n := max(3, 79-len(title)-1)
	return title + " " + strings.Repeat("*", n)
}

func (h *Human) result(r HostResult) {
	h.time(r)
	paint := map[Status]func(...any) string{
		StatusOK: h.green, StatusChanged: h.yellow, StatusSkipped: h.cyan,
		StatusFailed: h.red, StatusUnreachable: h.red, StatusIgnored: h.cyan,
		StatusInterrupted: h.yellow,
	}[r.Status]
	target := "[" + r.Host
	if r.Delegate != "" && r.Delegate != r.Host {
		target += " -> " + r.Delegate
	}
	target += "]"
	line := string(r.Status) + ": " + target
	if r.Item != "" {
		line += " => (item=" + r.Item + ")"
	}
	failing := r.Status == StatusFailed || r.Status == StatusUnreachable || r.Status == StatusIgnored
	if r.Msg != "" && (failing || h.Verbose > 0 || r.Status == StatusOK && r.Module == "debug") {
		line += " => " + r.Msg
	}
	fmt.Fprintln(h.w, paint(line))
	if h.Verbose > 0 {
		h.details(r, failing)
	} else if failing && r.Stderr != "" && !strings.Contains(r.Msg, strings.TrimSpace(r.Stderr)) {
		fmt.Fprintln(h.w, indent(strings.TrimSpace(r.Stderr)))
	}
	if h.ShowDiff {
		for _, d := range r.Diffs {
			h.diff(r.Host, d)
		}
	}
}

func (h *Human) details(r HostResult, failing bool) {
	if r.Command != "" {
		fmt.Fprintf(h.w, "    command: %s\n", r.Command)
	}
	if r.Attempts > 1 {
		fmt.Fprintf(h.w, "    attempts: %d\n", r.Attempts)
	}
	if s := strings.TrimSpace(r.Stdout); s != "" {
		fmt.Fprintf(h.w, "    stdout:\n%s\n", indent(s))
	}
	if s := strings.TrimSpace(r.Stderr); s != "" {
		fmt.Fprintf(h.w, "    stderr:\n%s\n", indent(s))
	}
	if h.Verbose > 1 {
		fmt.Fprintf(h.w, "    took %s\n", r.Duration.Round(time.Millisecond))
	}
}

func (h *Human) diff(host string, d FileDiff) {
	if d.Note != "" {
		fmt.Fprintf(h.w, "%s: %s\n", d.Path, d.Note)
		return
	}
	for _, line := range strings.SplitAfter(UnifiedDiff(d.Path+" on "+host, d.Before, d.After), "\n") {
		switch {
		case strings.HasPrefix(line, "+++"), strings.HasPrefix(line, "---"):
			fmt.Fprint(h.w, h.bold(line))
		case strings.HasPrefix(line, "+"):
			fmt.Fprint(h.w, h.green(line))
		case strings.HasPrefix(line, "-"):
			fmt.Fprint(h.w, h.red(line))
		case strings.HasPrefix(line, "@@"):
			fmt.Fprint(h.w, h.cyan(line))
		default:
			fmt.Fprint(h.w, line)
		}
	}
}

func indent(s string) string {
	return "      " + strings.ReplaceAll(s, "\n", "\n      ")
}

func (h *Human) recap(r Recap) {
	if h.Verbose > 0 {
		h.timings()
	}
	fmt.Fprintf(h.w, "\n%s\n", banner("PLAY RECAP"))
	hosts := append([]string(nil), r.Hosts...)
	sort.Strings(hosts)
	width := 0
	for _, n := range hosts {
		width = max(width, len(n))
	}
	for _, n := range hosts {
		c := r.Counts[n]
		name := fmt.Sprintf("%-*s", width, n)
		switch {
		case c.Failed > 0 || c.Unreachable > 0:
			name = h.red(name)
		case c.Changed > 0:
			name = h.yellow(name)
		default:
			name = h.green(name)
		}
		fmt.Fprintf(h.w, "%s : ok=%-4d changed=%-4d unreachable=%-4d failed=%-4d skipped=%-4d rescued=%-4d ignored=%d\n",
			name, c.OK, c.Changed, c.Unreachable, c.Failed, c.Skipped, c.Rescued, c.Ignored)
	}
	fmt.Fprintf(h.w, "\nrun time: %s, uploaded: %s\n", r.Duration.Round(time.Millisecond), bytesHuman(r.Transferred))
	if r.Interrupted {
		fmt.Fprintln(h.w, h.red("interrupted"))
		for _, host := range sortedKeys(r.InFlight) {
			fmt.Fprintf(h.w, "  %s was running: %s\n", host, r.InFlight[host])
		}
	}
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func bytesHuman(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// time remembers the longest time each task took on a host.
func (h *Human) time(r HostResult) {
	if h.slowest == nil {
		h.slowest = map[string]time.Duration{}
	}
	key := r.Play + " / " + r.Task
	if _, seen := h.slowest[key]; !seen {
		h.order = append(h.order, key)
	}
	h.slowest[key] = max(h.slowest[key], r.Duration)
}

// timings prints, with -v, the tasks that took longest, slowest first.
func (h *Human) timings() {
	keys := append([]string(nil), h.order...)
	sort.SliceStable(keys, func(i, j int) bool { return h.slowest[keys[i]] > h.slowest[keys[j]] })
	if len(keys) > 10 {
		keys = keys[:10]
	}
	if len(keys) == 0 {
		return
	}
	fmt.Fprintf(h.w, "\n%s\n", banner("TASK TIMES (slowest host)"))
	for _, k := range keys {
		fmt.Fprintf(h.w, "%-66s %10s\n", k, h.slowest[k].Round(time.Millisecond))
	}
}
