package output

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
)

// StepAnswer is a reply to --step's question about a task.
type StepAnswer int

// The replies ansible-playbook --step knows.
const (
	// StepNo skips the task; it is also what an empty answer means.
	StepNo StepAnswer = iota
	// StepYes runs the task.
	StepYes
	// StepContinue runs the task and every later one without asking again.
	StepContinue
)

// ErrNoAnswer is returned when the input ends before an answer: nobody is left to ask.
var ErrNoAnswer = errors.New("the input ended before an answer")

// StepPrompt asks, before each task, whether to run it, as ansible-playbook --step does:
// the question is written to one writer, the answer read as a line from one reader. It
// is not safe for concurrent use; the runner asks one question at a time.
type StepPrompt struct {
	in  *bufio.Reader
	out io.Writer
	// echo writes each answer after its question, for answers that come from a pipe
	// or a file and so were never shown on a terminal.
	echo bool
}

// NewStepPrompt asks on out and reads answers from in; echo repeats each answer on out.
func NewStepPrompt(in io.Reader, out io.Writer, echo bool) *StepPrompt {
	return &StepPrompt{in: bufio.NewReader(in), out: out, echo: echo}
}

// Confirm asks whether to run the task named task until it gets an answer it knows: y or
// yes, n, no or nothing, c or continue, in any case. An answer it does not know is asked
// again rather than taken for no, so a typo never skips a task silently. The error is
// ErrNoAnswer when the input ends first.
func (p *StepPrompt) Confirm(task string) (StepAnswer, error) {
	for {
		fmt.Fprintf(p.out, "\nPerform task: %s (N)o/(y)es/(c)ontinue: ", task)
		line, err := p.in.ReadString('\n')
		if err != nil && (line == "" || !errors.Is(err, io.EOF)) {
			fmt.Fprintln(p.out)
			if errors.Is(err, io.EOF) {
				return StepNo, ErrNoAnswer
			}
			return StepNo, fmt.Errorf("reading the answer: %w", err)
		}
		if p.echo {
			fmt.Fprint(p.out, strings.TrimRight(line, "\r\n")) // a CRLF file's answers too
		}
		fmt.Fprintln(p.out)
		if a, ok := parseStepAnswer(line); ok {
			return a, nil
		}
		fmt.Fprintf(p.out, "answer y, n or c, not %q\n", strings.TrimSpace(line))
	}
}

func parseStepAnswer(line string) (StepAnswer, bool) {
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "", "n", "no":
		return StepNo, true
	case "y", "yes":
		return StepYes, true
	case "c", "continue":
		return StepContinue, true
	}
	return StepNo, false
}
