package output

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestStepPromptAnswers(t *testing.T) {
	var out bytes.Buffer
	p := NewStepPrompt(strings.NewReader("y\nN\n\nyse\nYes\nc\nno"), &out, false)
	want := []StepAnswer{StepYes, StepNo, StepNo, StepYes, StepContinue, StepNo}
	for i, w := range want {
		got, err := p.Confirm("role : task")
		if err != nil || got != w {
			t.Fatalf("answer %d: %v, %v; want %v", i, got, err, w)
		}
	}
	if _, err := p.Confirm("role : task"); !errors.Is(err, ErrNoAnswer) {
		t.Errorf("after the last answer: %v, want ErrNoAnswer", err)
	}
	q := "Perform task: role : task (N)o/(y)es/(c)ontinue: "
	// Six answers, one of them asked twice for the typo, and the unanswered question.
	if n := strings.Count(out.String(), q); n != 8 {
		t.Errorf("asked %d times, want 8:\n%s", n, out.String())
	}
	if !strings.Contains(out.String(), `answer y, n or c, not "yse"`) {
		t.Errorf("a typo is not explained:\n%s", out.String())
	}
}

// Piped answers are echoed after their question, so the output reads as a session would.
func TestStepPromptEchoesPipedAnswers(t *testing.T) {
	var out bytes.Buffer
	p := NewStepPrompt(strings.NewReader("y\nc"), &out, true)
	p.Confirm("a")
	p.Confirm("b")
	want := "\nPerform task: a (N)o/(y)es/(c)ontinue: y\n\nPerform task: b (N)o/(y)es/(c)ontinue: c\n"
	if out.String() != want {
		t.Errorf("output %q, want %q", out.String(), want)
	}
}

// -v says where each host's facts came from; without -v nothing is said.
func TestHumanFactsSource(t *testing.T) {
	events := []FactsLoaded{
		{Host: "n1", Source: FactsFromCache, Age: 3*time.Minute + 12*time.Second + 400*time.Millisecond, TTL: time.Hour},
		{Host: "n2", Source: FactsGathered},
		{Host: "n3", Source: FactsFromCache, Age: 2*time.Hour + 5*time.Minute, TTL: 2*time.Hour + 30*time.Minute},
	}
	for verbose, want := range map[int]string{
		0: "",
		1: "facts n1: cached 3m12s ago (ttl 1h)\nfacts n2: gathered\nfacts n3: cached 2h5m ago (ttl 2h30m)\n",
	} {
		var buf bytes.Buffer
		h := NewHuman(&buf, verbose, false, true)
		for _, e := range events {
			h.Emit(e)
		}
		if buf.String() != want {
			t.Errorf("-v %d: %q, want %q", verbose, buf.String(), want)
		}
	}
}

func TestJSONFactsEvent(t *testing.T) {
	var buf bytes.Buffer
	NewJSON(&buf).Emit(FactsLoaded{Host: "n1", Source: FactsFromCache, Age: 90 * time.Second, TTL: time.Hour})
	var line struct {
		Type  string
		Event map[string]any
	}
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		t.Fatal(err)
	}
	ev := line.Event
	if line.Type != "facts" || ev["host"] != "n1" || ev["source"] != "cache" ||
		ev["age_ns"] != float64(90*time.Second) || ev["ttl_ns"] != float64(time.Hour) {
		t.Errorf("%s", buf.String())
	}
}
