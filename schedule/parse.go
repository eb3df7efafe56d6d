package schedule

import (
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/taskgate/taskgate/api/v1alpha1"
)

// Examples shown in the errors, to copy from.
const (
	exampleSchedule = `"0 3 * * *" (03:00 every day), "*/15 * * * *" or "@hourly"`
	exampleTimeZone = `"Europe/Berlin" or "America/New_York"`
)

// Parse reads a cron expression in the IANA time zone tz, UTC when tz is
// nil. It refuses TZ= and CRON_TZ= in the expression, as the CronJob API
// does: the zone has its own field.
func Parse(expr string, tz *string) (cron.Schedule, error) {
	if strings.Contains(expr, "TZ") {
		return nil, fmt.Errorf("TZ= and CRON_TZ= are not allowed in the schedule; set spec.timeZone instead")
	}
	loc, err := Location(tz)
	if err != nil {
		return nil, err
	}
	s, err := cron.ParseStandard(expr)
	if err != nil {
		return nil, err
	}
	if spec, ok := s.(*cron.SpecSchedule); ok {
		spec.Location = loc
	}
	return s, nil
}

// Location loads an IANA time zone; nil is UTC. "Local" is refused: it
// would mean the manager's zone, which the user cannot see.
func Location(tz *string) (*time.Location, error) {
	if tz == nil {
		return time.UTC, nil
	}
	if *tz == "" || strings.EqualFold(*tz, "Local") {
		return nil, fmt.Errorf("must name an IANA time zone")
	}
	loc, err := time.LoadLocation(*tz)
	if err != nil {
		return nil, fmt.Errorf("unknown time zone: %w", err)
	}
	return loc, nil
}

// Validate checks spec.schedule and spec.timeZone, with errors that name
// the field and show an example.
func Validate(spec *v1alpha1.TaskScheduleSpec, specPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	tzPath := specPath.Child("timeZone")
	if spec.TimeZone != nil {
		if _, err := Location(spec.TimeZone); err != nil {
			errs = append(errs, field.Invalid(tzPath, *spec.TimeZone,
				fmt.Sprintf("%v; for example %s", err, exampleTimeZone)))
			return errs
		}
	}
	schedPath := specPath.Child("schedule")
	s, err := Parse(spec.Schedule, spec.TimeZone)
	if err != nil {
		return append(errs, field.Invalid(schedPath, spec.Schedule,
			fmt.Sprintf("%v; use five fields (minute hour day-of-month month day-of-week), for example %s", err, exampleSchedule)))
	}
	// Tasks are named by the minute of their tick: two ticks in a minute
	// would be one Task.
	from := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	first := s.Next(from)
	if first.IsZero() {
		// robfig/cron looks five years ahead.
		return append(errs, field.Invalid(schedPath, spec.Schedule,
			"never ticks (a day no month has, such as 30 February); for example "+exampleSchedule))
	}
	if s.Next(first).Sub(first) < time.Minute {
		errs = append(errs, field.Invalid(schedPath, spec.Schedule,
			"ticks must be at least a minute apart, for example \"@every 1m\" or \"* * * * *\""))
	}
	return errs
}
