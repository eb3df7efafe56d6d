package schedule

import (
	"time"

	"github.com/robfig/cron/v3"
)

// MaxMissed is how many missed ticks are counted before the schedule is
// said to have missed too many, as the CronJob controller's 100.
const MaxMissed = 100

// Ticks is where a schedule stands at a moment.
type Ticks struct {
	// Due is the most recent tick not yet started, zero when none is.
	Due time.Time
	// TooManyMissed says more than MaxMissed ticks were missed: the clock
	// jumped or the manager was down long; only Due starts.
	TooManyMissed bool
	// Next is the first tick after now.
	Next time.Time
}

// At finds the due and next ticks of s at now. last is the last tick
// started, or the schedule's creation when none has; deadline is
// startingDeadlineSeconds, nil for none. Ticks at or before now-deadline
// are not counted, as the CronJob controller does, so a due tick is never
// past its deadline.
func At(s cron.Schedule, last time.Time, deadline *int64, now time.Time) Ticks {
	t := Ticks{Next: s.Next(now)}
	earliest := last
	if deadline != nil {
		if d := now.Add(-time.Duration(*deadline) * time.Second); d.After(earliest) {
			earliest = d
		}
	}
	first := s.Next(earliest)
	if first.IsZero() || first.After(now) {
		return t
	}
	t.Due = first
	for missed := 1; ; missed++ {
		n := s.Next(t.Due)
		if n.IsZero() || n.After(now) {
			break
		}
		if missed >= MaxMissed {
			t.TooManyMissed = true
			t.Due = lastBefore(s, n, now)
			break
		}
		t.Due = n
	}
	return t
}

// lastBefore finds the last tick at or before now, from a tick from that
// is, without walking every tick in between: it halves a window back from
// now until a tick falls in it.
func lastBefore(s cron.Schedule, from, now time.Time) time.Time {
	lo := from // a tick at or before now
	for window := now.Sub(lo); window > time.Second; window /= 2 {
		start := now.Add(-window)
		if !start.After(lo) {
			continue
		}
		if n := s.Next(start.Add(-time.Nanosecond)); !n.IsZero() && !n.After(now) {
			lo = n
		}
	}
	for n := s.Next(lo); !n.IsZero() && !n.After(now); n = s.Next(lo) {
		lo = n
	}
	return lo
}
