package taskcli

import (
	"cmp"
	"strconv"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/duration"

	"github.com/taskgate/taskgate/api/v1alpha1"
)

// none fills a cell that has no value, as kubectl does.
const none = "-"

// Row is one Task's fields as `kubectl task get` shows them, in words.
// The list is the server's Table of the CRD's printer columns instead.
type Row struct {
	App, ID, Name, DisplayName, State, Started, Duration, Age, Command, ExitCode, Pod, Reason string
}

// startedLayout prints a start time as cf tasks does, to the second, in
// UTC so that times from several machines compare, as the list's
// Started column (the API's own RFC 3339) does.
const startedLayout = time.RFC3339

// NewRow describes a Task as of now. A running Task's duration is how long
// it has run so far.
func NewRow(t *v1alpha1.Task, now time.Time) Row {
	r := Row{
		App:         t.Spec.AppRef.Name,
		ID:          none,
		Name:        t.Name,
		DisplayName: cmp.Or(t.Spec.DisplayName, none),
		State:       displayState(t),
		Started:     none,
		Duration:    none,
		Age:         "<unknown>",
		Command:     cmp.Or(commandOf(t), none),
		ExitCode:    none,
		Pod:         cmp.Or(t.Status.PodName, none),
		Reason:      cmp.Or(t.Status.FailureReason, none),
	}
	if t.Status.StartTime != nil {
		r.Started = t.Status.StartTime.UTC().Format(startedLayout)
	}
	if t.Status.ID != 0 {
		r.ID = strconv.FormatInt(t.Status.ID, 10)
	}
	switch {
	case t.Status.Duration != nil:
		r.Duration = FormatElapsed(t.Status.Duration.Duration)
	case t.Status.StartTime != nil && !t.Status.State.IsFinished():
		r.Duration = FormatElapsed(now.Sub(t.Status.StartTime.Time))
	}
	if !t.CreationTimestamp.IsZero() {
		r.Age = duration.HumanDuration(now.Sub(t.CreationTimestamp.Time))
	}
	if t.Status.ExitCode != nil {
		r.ExitCode = strconv.FormatInt(int64(*t.Status.ExitCode), 10)
	}
	return r
}

// commandOf is what a Task runs, as cf tasks shows it: its own command,
// or else the App's start command that taskgate copied into it.
func commandOf(t *v1alpha1.Task) string {
	if t.Spec.Command != "" {
		return t.Spec.Command
	}
	if t.Spec.Resolved != nil {
		return strings.Join(t.Spec.Resolved.Args, " ")
	}
	return ""
}
