package schedule

import (
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/taskgate/taskgate/api/v1alpha1"
)

// FuzzSchedule: any string the API may hold is validated, and one that
// validates decides, without a panic or a walk over every missed tick;
// a due tick is never after now nor at or before the last, and the next
// is after now.
func FuzzSchedule(f *testing.F) {
	for _, s := range []string{"* * * * *", "0 3 * * *", "@hourly", "@every 1m", "*/0 * * * *", "0 3 30 2 *", "61 * * * *", "TZ=UTC * * * *", "@every -1s", "1-0 * * * *"} {
		f.Add(s, int64(3600*24*365), int64(-1))
	}
	now := time.Date(2026, 12, 7, 5, 30, 10, 0, time.UTC)
	f.Fuzz(func(t *testing.T, expr string, ago, deadline int64) {
		spec := &v1alpha1.TaskScheduleSpec{Schedule: expr}
		if len(Validate(spec, field.NewPath("spec"))) > 0 {
			return
		}
		s, err := Parse(expr, nil)
		if err != nil {
			t.Fatalf("Validate admits %q, which Parse refuses: %v", expr, err)
		}
		last := now.Add(-time.Duration(ago%(10*365*24*3600)) * time.Second)
		var dl *int64
		if deadline >= 0 {
			dl = &deadline
		}
		got := At(s, last, dl, now)
		if !got.Due.IsZero() && (got.Due.After(now) || !got.Due.After(last)) {
			t.Errorf("At(%q, %s, %s): due %s outside (last, now]", expr, last, now, got.Due)
		}
		if !got.Next.After(now) {
			t.Errorf("At(%q): next %s not after now %s", expr, got.Next, now)
		}
	})
}
