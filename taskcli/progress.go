package taskcli

import (
	"fmt"
	"io"
	"time"

	"github.com/taskgate/taskgate/api/v1alpha1"
)

// FormatElapsed prints a duration the way the plugin shows elapsed and run
// times: whole seconds, with minutes and hours zero-padded once they
// appear, such as 7s, 1m05s and 2h03m09s.
func FormatElapsed(d time.Duration) string {
	s := int64(max(d, 0).Round(time.Second) / time.Second)
	h, m, s := s/3600, s/60%60, s%60
	switch {
	case h > 0:
		return fmt.Sprintf("%dh%02dm%02ds", h, m, s)
	case m > 0:
		return fmt.Sprintf("%dm%02ds", m, s)
	}
	return fmt.Sprintf("%ds", s)
}

// describe names a Task for messages: "Task shop-8h2kd (ID 3)", or
// "Task shop-8h2kd (ID pending)" before taskgate gives it an ID.
func describe(t *v1alpha1.Task) string {
	if t.Status.ID == 0 {
		return fmt.Sprintf("Task %s (ID pending)", t.Name)
	}
	return fmt.Sprintf("Task %s (ID %d)", t.Name, t.Status.ID)
}

// displayState is the state the plugin shows: the Task's, Cancelling while
// a cancel is under way, and Unknown before taskgate reports one.
func displayState(t *v1alpha1.Task) string {
	switch {
	case t.Status.State.IsFinished():
		return string(t.Status.State)
	case t.Spec.DesiredState == v1alpha1.DesiredStateCancelled:
		return "Cancelling"
	case t.Status.State == "":
		return "Unknown"
	}
	return string(t.Status.State)
}

// ProgressLine is one line of progress while the plugin waits for a Task:
// the time waited, then the Task and its state.
func ProgressLine(t *v1alpha1.Task, elapsed time.Duration) string {
	return fmt.Sprintf("[%s] %s is %s", FormatElapsed(elapsed), describe(t), displayState(t))
}

// clearLine returns a terminal's cursor to the start of the line and
// erases the line.
const clearLine = "\r\x1b[K"

// progress reports a long wait. On a terminal it rewrites one line with
// every update; elsewhere (a log file, CI) it writes a line only when the
// text without the elapsed time changes, that is, on a state change.
type progress struct {
	w        io.Writer
	terminal bool
	// last is the last line written; onLine is whether a terminal's
	// cursor sits at the end of a progress line.
	last, lastKey string
	onLine        bool
}

// update shows line; key is the part whose change makes a new plain line.
func (p *progress) update(key, line string) {
	if p.terminal {
		if line != p.last || !p.onLine {
			_, _ = io.WriteString(p.w, clearLine+line)
			p.last, p.onLine = line, true
		}
		return
	}
	if key != p.lastKey {
		_, _ = io.WriteString(p.w, line+"\n")
		p.lastKey = key
	}
}

// task shows a Task's progress.
func (p *progress) task(t *v1alpha1.Task, elapsed time.Duration) {
	p.update(describe(t)+" "+displayState(t), ProgressLine(t, elapsed))
}

// done erases a terminal's progress line, so that what follows starts on
// a clean line.
func (p *progress) done() {
	if p.terminal && p.onLine {
		_, _ = io.WriteString(p.w, clearLine)
		p.onLine = false
	}
}
