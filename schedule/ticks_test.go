package schedule

import (
	"testing"
	"time"

	"k8s.io/utils/ptr"
)

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestAt(t *testing.T) {
	for _, tc := range []struct {
		name     string
		expr     string
		tz       *string
		last     string
		deadline *int64
		now      string
		want     Ticks
	}{{
		name: "before the first tick nothing is due",
		expr: "0 3 * * *", last: "2026-12-07T01:00:00Z", now: "2026-12-07T02:59:59Z",
		want: Ticks{Next: utc("2026-12-07T03:00:00Z")},
	}, {
		name: "the tick itself is due",
		expr: "0 3 * * *", last: "2026-12-07T01:00:00Z", now: "2026-12-07T03:00:00Z",
		want: Ticks{Due: utc("2026-12-07T03:00:00Z"), Next: utc("2026-12-08T03:00:00Z")},
	}, {
		name: "a started tick is not due again",
		expr: "0 3 * * *", last: "2026-12-07T03:00:00Z", now: "2026-12-07T03:00:30Z",
		want: Ticks{Next: utc("2026-12-08T03:00:00Z")},
	}, {
		name: "after downtime only the most recent missed tick is due",
		expr: "0 * * * *", last: "2026-12-07T01:00:00Z", now: "2026-12-07T05:30:00Z",
		want: Ticks{Due: utc("2026-12-07T05:00:00Z"), Next: utc("2026-12-07T06:00:00Z")},
	}, {
		name: "a deadline counts ticks from now minus the deadline only",
		expr: "0 * * * *", last: "2026-12-07T01:00:00Z", deadline: ptr.To[int64](600), now: "2026-12-07T05:30:00Z",
		want: Ticks{Next: utc("2026-12-07T06:00:00Z")},
	}, {
		name: "a tick within the deadline is due",
		expr: "0 * * * *", last: "2026-12-07T01:00:00Z", deadline: ptr.To[int64](600), now: "2026-12-07T05:09:59Z",
		want: Ticks{Due: utc("2026-12-07T05:00:00Z"), Next: utc("2026-12-07T06:00:00Z")},
	}, {
		// As CronJob's: ticks are counted after now minus the deadline.
		name: "a deadline of 0 starts nothing, even at the tick's second",
		expr: "0 * * * *", last: "2026-12-07T04:00:00Z", deadline: ptr.To[int64](0), now: "2026-12-07T05:00:00Z",
		want: Ticks{Next: utc("2026-12-07T06:00:00Z")},
	}, {
		name: "more than 100 missed ticks are said, and only the last is due",
		expr: "* * * * *", last: "2026-12-07T00:00:00Z", now: "2026-12-07T05:30:10Z",
		want: Ticks{Due: utc("2026-12-07T05:30:00Z"), TooManyMissed: true, Next: utc("2026-12-07T05:31:00Z")},
	}, {
		name: "exactly 100 missed ticks are not too many",
		expr: "* * * * *", last: "2026-12-07T00:00:00Z", now: "2026-12-07T01:40:00Z",
		want: Ticks{Due: utc("2026-12-07T01:40:00Z"), Next: utc("2026-12-07T01:41:00Z")},
	}, {
		name: "101 missed ticks are too many",
		expr: "* * * * *", last: "2026-12-07T00:00:00Z", now: "2026-12-07T01:41:00Z",
		want: Ticks{Due: utc("2026-12-07T01:41:00Z"), TooManyMissed: true, Next: utc("2026-12-07T01:42:00Z")},
	}, {
		name: "a time zone moves the tick",
		expr: "0 3 * * *", tz: ptr.To("America/New_York"), last: "2026-12-07T00:00:00Z", now: "2026-12-07T08:00:30Z",
		want: Ticks{Due: utc("2026-12-07T08:00:00Z"), Next: utc("2026-12-08T08:00:00Z")},
	}, {
		name: "spring forward: 02:30 does not exist in Berlin on 29 March",
		expr: "30 2 * * *", tz: ptr.To("Europe/Berlin"), last: "2026-03-28T01:30:00Z", now: "2026-03-29T12:00:00Z",
		want: Ticks{Next: utc("2026-03-30T00:30:00Z")},
	}, {
		name: "fall back: 02:30 in Berlin on 25 October is first 02:30 summer time",
		expr: "30 2 * * *", tz: ptr.To("Europe/Berlin"), last: "2026-10-24T00:30:00Z", now: "2026-10-25T00:30:00Z",
		want: Ticks{Due: utc("2026-10-25T00:30:00Z"), Next: utc("2026-10-25T01:30:00Z")},
	}, {
		// robfig/cron, so CronJob too, ticks at both 02:30s.
		name: "fall back: and then 02:30 winter time, an hour later",
		expr: "30 2 * * *", tz: ptr.To("Europe/Berlin"), last: "2026-10-25T00:30:00Z", now: "2026-10-25T12:00:00Z",
		want: Ticks{Due: utc("2026-10-25T01:30:00Z"), Next: utc("2026-10-26T01:30:00Z")},
	}, {
		name: "the hour after the change is the zone's new offset",
		expr: "0 9 * * *", tz: ptr.To("Europe/Berlin"), last: "2026-03-28T08:00:00Z", now: "2026-03-29T07:00:00Z",
		want: Ticks{Due: utc("2026-03-29T07:00:00Z"), Next: utc("2026-03-30T07:00:00Z")},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Parse(tc.expr, tc.tz)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tc.expr, err)
			}
			got := At(s, utc(tc.last), tc.deadline, utc(tc.now))
			got.Due, got.Next = got.Due.UTC(), got.Next.UTC()
			want := tc.want
			want.Due, want.Next = want.Due.UTC(), want.Next.UTC()
			if got != want {
				t.Errorf("At(%q, last %s, now %s) =\n%+v, want\n%+v", tc.expr, tc.last, tc.now, got, want)
			}
		})
	}
}
