package taskcli

import (
	"cmp"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"k8s.io/apimachinery/pkg/util/duration"

	"github.com/taskgate/taskgate/api/v1alpha1"
)

// none fills a cell that has no value, as kubectl does.
const none = "-"

// Row is one Task as `kubectl task list` shows it.
type Row struct {
	Namespace, App, ID, Name, DisplayName, State, Started, Duration, Age, Command, ExitCode, Pod, Reason string
}

// startedLayout prints a start time as cf tasks does, to the second, in
// UTC so that rows from several machines compare.
const startedLayout = time.RFC3339

// NewRow describes a Task as of now. A running Task's duration is how long
// it has run so far.
func NewRow(t *v1alpha1.Task, now time.Time) Row {
	r := Row{
		Namespace:   t.Namespace,
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

// SortTasks orders Tasks by namespace, App, then ID, then name. Tasks
// still waiting for an ID are the newest, so they come last.
func SortTasks(tasks []v1alpha1.Task) {
	slices.SortStableFunc(tasks, func(a, b v1alpha1.Task) int {
		return cmp.Or(
			cmp.Compare(a.Namespace, b.Namespace),
			cmp.Compare(a.Spec.AppRef.Name, b.Spec.AppRef.Name),
			cmp.Compare(sortID(a.Status.ID), sortID(b.Status.ID)),
			cmp.Compare(a.Name, b.Name),
		)
	})
}

// sortID puts an unassigned ID (0) after every assigned one.
func sortID(id int64) uint64 {
	return uint64(id - 1)
}

// TableOptions choose the list's columns.
type TableOptions struct {
	// Wide adds the App, exit code, pod and failure reason.
	Wide bool
	// ShowApp adds the App column without the rest of Wide, for a list of
	// several Apps' Tasks, whose IDs repeat.
	ShowApp bool
	// ShowNamespace adds the namespace column first, for a list of every
	// namespace's Tasks.
	ShowNamespace bool
	// NoHeaders leaves out the header line, for scripts.
	NoHeaders bool
}

// WriteTable writes rows as kubectl prints tables: a header, then one line
// per row, in columns three spaces apart.
func WriteTable(w io.Writer, rows []Row, opts TableOptions) error {
	type column struct {
		header string
		cell   func(Row) string
	}
	cols := []column{
		{"ID", func(r Row) string { return r.ID }},
		{"NAME", func(r Row) string { return r.Name }},
		{"DISPLAY NAME", func(r Row) string { return r.DisplayName }},
		{"STATE", func(r Row) string { return r.State }},
		{"STARTED", func(r Row) string { return r.Started }},
		{"DURATION", func(r Row) string { return r.Duration }},
		{"AGE", func(r Row) string { return r.Age }},
	}
	if opts.Wide || opts.ShowApp || opts.ShowNamespace {
		cols = slices.Insert(cols, 0, column{"APP", func(r Row) string { return r.App }})
	}
	if opts.ShowNamespace {
		cols = slices.Insert(cols, 0, column{"NAMESPACE", func(r Row) string { return r.Namespace }})
	}
	if opts.Wide {
		cols = append(cols,
			column{"EXIT CODE", func(r Row) string { return r.ExitCode }},
			column{"POD", func(r Row) string { return r.Pod }},
			column{"REASON", func(r Row) string { return r.Reason }},
		)
	}
	// The command last, as it is the widest.
	cols = append(cols, column{"COMMAND", func(r Row) string { return r.Command }})
	tw := tabwriter.NewWriter(w, 0, 8, 3, ' ', 0)
	cells := make([]string, len(cols))
	for i, c := range cols {
		cells[i] = c.header
	}
	if !opts.NoHeaders {
		_, _ = io.WriteString(tw, strings.Join(cells, "\t")+"\n")
	}
	for _, r := range rows {
		for i, c := range cols {
			// A tab or newline in a value would break the columns.
			cells[i] = strings.NewReplacer("\t", " ", "\n", " ").Replace(c.cell(r))
		}
		_, _ = io.WriteString(tw, strings.Join(cells, "\t")+"\n")
	}
	return tw.Flush()
}
