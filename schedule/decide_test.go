package schedule

import (
	"reflect"
	"testing"
	"time"

	"k8s.io/utils/ptr"

	"github.com/taskgate/taskgate/api/v1alpha1"
)

func TestDecide(t *testing.T) {
	hourly, err := Parse("0 * * * *", nil)
	if err != nil {
		t.Fatal(err)
	}
	last, now := utc("2026-12-07T04:00:00Z"), utc("2026-12-07T05:00:10Z")
	tick, next := utc("2026-12-07T05:00:00Z"), utc("2026-12-07T06:00:00Z")
	for _, tc := range []struct {
		name  string
		facts Facts
		want  Decision
	}{{
		name:  "Allow starts beside a running Task",
		facts: Facts{Concurrency: v1alpha1.ConcurrencyAllow, Active: []string{"a"}},
		want:  Decision{Start: tick, Next: next},
	}, {
		name:  "Forbid starts when nothing runs",
		facts: Facts{Concurrency: v1alpha1.ConcurrencyForbid},
		want:  Decision{Start: tick, Next: next},
	}, {
		name:  "Forbid skips while a Task runs",
		facts: Facts{Concurrency: v1alpha1.ConcurrencyForbid, Active: []string{"a"}},
		want:  Decision{Skipped: tick, Next: next},
	}, {
		name:  "Replace cancels the running Tasks and starts",
		facts: Facts{Concurrency: v1alpha1.ConcurrencyReplace, Active: []string{"a", "b"}},
		want:  Decision{Start: tick, Cancel: []string{"a", "b"}, Next: next},
	}, {
		name:  "Replace does not cancel the Task of the tick itself, started by a pass not yet recorded",
		facts: Facts{Concurrency: v1alpha1.ConcurrencyReplace, Active: []string{"a", "s-29943660"}, Tasks: []string{"a", "s-29943660"}},
		want:  Decision{Started: tick, Next: next},
	}, {
		name:  "Forbid does not skip for the Task of the tick itself",
		facts: Facts{Concurrency: v1alpha1.ConcurrencyForbid, Active: []string{"s-29943660"}, Tasks: []string{"s-29943660"}},
		want:  Decision{Started: tick, Next: next},
	}, {
		name:  "a finished Task of an earlier tick does not count",
		facts: Facts{Concurrency: v1alpha1.ConcurrencyAllow, Tasks: []string{"s-29943600"}},
		want:  Decision{Start: tick, Next: next},
	}, {
		name:  "suspended does nothing and looks again at no tick",
		facts: Facts{Concurrency: v1alpha1.ConcurrencyAllow, Suspended: true},
		want:  Decision{},
	}, {
		name:  "a tick past the deadline is missed, not skipped",
		facts: Facts{Concurrency: v1alpha1.ConcurrencyForbid, Active: []string{"a"}, Deadline: ptr.To[int64](5)},
		want:  Decision{Next: next},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			f := tc.facts
			f.Schedule, f.Last, f.Now, f.Name = hourly, last, now, "s"
			if got := Decide(f); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Decide() =\n%+v, want\n%+v", got, tc.want)
			}
		})
	}
}

func TestDecideMissed(t *testing.T) {
	hourly, err := Parse("0 * * * *", nil)
	if err != nil {
		t.Fatal(err)
	}
	// A tick is due while now minus the deadline is before it.
	f := Facts{Schedule: hourly, Last: utc("2026-12-07T04:00:00Z"), Deadline: ptr.To[int64](60),
		Now: utc("2026-12-07T05:00:59Z"), Concurrency: v1alpha1.ConcurrencyAllow}
	want := Decision{Start: utc("2026-12-07T05:00:00Z"), Next: utc("2026-12-07T06:00:00Z")}
	if got := Decide(f); !reflect.DeepEqual(got, want) {
		t.Errorf("Decide() a second before the deadline =\n%+v, want\n%+v", got, want)
	}
	f.Now = f.Now.Add(time.Second)
	want = Decision{Next: utc("2026-12-07T06:00:00Z")}
	if got := Decide(f); !reflect.DeepEqual(got, want) {
		t.Errorf("Decide() at the deadline =\n%+v, want\n%+v", got, want)
	}
}
