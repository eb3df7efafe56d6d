package schedule

import (
	"slices"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/taskgate/taskgate/api/v1alpha1"
)

// Facts are what a decision reads about a schedule, gathered beforehand.
type Facts struct {
	Schedule cron.Schedule
	// Last is the last tick started, or the schedule's creation.
	Last time.Time
	// Deadline is startingDeadlineSeconds.
	Deadline    *int64
	Suspended   bool
	Concurrency v1alpha1.ConcurrencyPolicy
	// Active names the schedule's Tasks that have not finished.
	Active []string
	// Name is the schedule's name and Tasks the names of all its Tasks:
	// a due tick whose Task exists was started by a pass whose status
	// write is not seen yet, and must not be started, skipped or replace
	// its own Task.
	Name  string
	Tasks []string
	Now   time.Time
}

// Decision says what to do at one pass.
type Decision struct {
	// Start is the tick whose Task to create; zero for none.
	Start time.Time
	// Cancel names the active Tasks to cancel first (Replace).
	Cancel []string
	// Skipped is a due tick not started because a Task of the schedule
	// runs (Forbid); it stays due until its deadline.
	Skipped time.Time
	// Started is a due tick whose Task already exists: only to record.
	Started time.Time
	// TooManyMissed says more than MaxMissed ticks were missed.
	TooManyMissed bool
	// Next is when to look again: the next tick; zero when suspended.
	Next time.Time
}

// Decide says what a schedule does now.
func Decide(f Facts) Decision {
	if f.Suspended {
		return Decision{}
	}
	t := At(f.Schedule, f.Last, f.Deadline, f.Now)
	d := Decision{Next: t.Next, TooManyMissed: t.TooManyMissed}
	switch {
	case t.Due.IsZero():
	case slices.Contains(f.Tasks, TaskName(f.Name, t.Due)):
		d.Started = t.Due
	case len(f.Active) > 0 && f.Concurrency == v1alpha1.ConcurrencyForbid:
		d.Skipped = t.Due
	case len(f.Active) > 0 && f.Concurrency == v1alpha1.ConcurrencyReplace:
		d.Cancel = f.Active
		d.Start = t.Due
	default:
		d.Start = t.Due
	}
	return d
}
