package schedule

import (
	"testing"

	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"

	"github.com/taskgate/taskgate/api/v1alpha1"
)

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		expr string
		tz   *string
		want []string
	}{
		{name: "five fields", expr: "0 3 * * *"},
		{name: "a descriptor", expr: "@hourly"},
		{name: "every minute", expr: "@every 1m"},
		{name: "a zone", expr: "0 3 * * *", tz: ptr.To("Europe/Berlin")},
		{name: "a minute out of range", expr: "61 * * * *", want: []string{
			`spec.schedule: Invalid value: "61 * * * *": end of range (61) above maximum (59): 61; use five fields (minute hour day-of-month month day-of-week), for example "0 3 * * *" (03:00 every day), "*/15 * * * *" or "@hourly"`}},
		{name: "six fields", expr: "0 0 3 * * *", want: []string{
			`spec.schedule: Invalid value: "0 0 3 * * *": expected exactly 5 fields, found 6: [0 0 3 * * *]; use five fields (minute hour day-of-month month day-of-week), for example "0 3 * * *" (03:00 every day), "*/15 * * * *" or "@hourly"`}},
		{name: "a zone in the string", expr: "CRON_TZ=UTC 0 3 * * *", want: []string{
			`spec.schedule: Invalid value: "CRON_TZ=UTC 0 3 * * *": TZ= and CRON_TZ= are not allowed in the schedule; set spec.timeZone instead; use five fields (minute hour day-of-month month day-of-week), for example "0 3 * * *" (03:00 every day), "*/15 * * * *" or "@hourly"`}},
		{name: "ticks under a minute apart", expr: "@every 30s", want: []string{
			`spec.schedule: Invalid value: "@every 30s": ticks must be at least a minute apart, for example "@every 1m" or "* * * * *"`}},
		{name: "a day that never comes", expr: "0 3 30 2 *", want: []string{
			`spec.schedule: Invalid value: "0 3 30 2 *": never ticks (a day no month has, such as 30 February); for example "0 3 * * *" (03:00 every day), "*/15 * * * *" or "@hourly"`}},
		{name: "an unknown zone", expr: "0 3 * * *", tz: ptr.To("Mars/Olympus"), want: []string{
			`spec.timeZone: Invalid value: "Mars/Olympus": unknown time zone: unknown time zone Mars/Olympus; for example "Europe/Berlin" or "America/New_York"`}},
		{name: "the manager's zone", expr: "0 3 * * *", tz: ptr.To("Local"), want: []string{
			`spec.timeZone: Invalid value: "Local": must name an IANA time zone; for example "Europe/Berlin" or "America/New_York"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			errs := Validate(&v1alpha1.TaskScheduleSpec{Schedule: tc.expr, TimeZone: tc.tz}, field.NewPath("spec"))
			var got []string
			for _, e := range errs {
				got = append(got, e.Error())
			}
			if len(got) != len(tc.want) {
				t.Fatalf("Validate(%q) = %q, want %q", tc.expr, got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("Validate(%q)[%d] =\n%s, want\n%s", tc.expr, i, got[i], tc.want[i])
				}
			}
		})
	}
}
