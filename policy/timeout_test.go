package policy

import (
	"reflect"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func TestResolveTaskTimeout(t *testing.T) {
	tests := []struct {
		name   string
		policy string
		set    *metav1.Duration
		want   TimeoutDecision
	}{
		{
			name: "unset: the default hour",
			want: TimeoutDecision{Timeout: dur("1h"), Rule: RuleDefault, Outcome: OutcomeDefaulted},
		},
		{
			name: "set: kept",
			set:  dur("30m"),
			want: TimeoutDecision{Timeout: dur("30m"), Rule: RuleDefault, Outcome: OutcomeUnchanged},
		},
		{
			name: "set to 0s (no limit): kept",
			set:  dur("0s"),
			want: TimeoutDecision{Timeout: dur("0s"), Rule: RuleDefault, Outcome: OutcomeUnchanged},
		},
		{
			name:   "a default of 0s means no limit",
			policy: "tasks: {timeout: {default: 0s}}",
			want:   TimeoutDecision{Timeout: dur("0s"), Rule: RuleDefault, Outcome: OutcomeDefaulted},
		},
		{
			name:   "audit",
			policy: "mode: audit\ntasks: {timeout: {default: 2h, max: 24h}}",
			want:   TimeoutDecision{Timeout: dur("2h"), Rule: RuleDefault, Outcome: OutcomeDefaulted, Audit: true},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := load(t, tt.policy).ResolveTaskTimeout(tt.set)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ResolveTaskTimeout:\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
	if got, want := load(t, "mode: audit").ResolveTaskTimeout(nil).String(),
		"audit: would set default timeout=1h (tasks.timeout.default)"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

func TestValidateTaskTimeout(t *testing.T) {
	path := field.NewPath("spec", "timeout")
	const max24h = "tasks: {timeout: {max: 24h}}"
	tests := []struct {
		name     string
		policy   string
		set      *metav1.Duration
		errs     []string
		warnings []string
	}{
		{name: "unset is valid", policy: max24h},
		{name: "no max: anything goes", set: dur("1000h")},
		{name: "no max: no limit goes", set: dur("0s")},
		{name: "at the max", policy: max24h, set: dur("24h")},
		{
			name: "above the max", policy: max24h, set: dur("48h"),
			errs: []string{`spec.timeout: Invalid value: "48h": exceeds the cluster maximum of 24h set in policy tasks.timeout.max; ask for at most 24h`},
		},
		{
			name: "no limit with a max", policy: max24h, set: dur("0s"),
			errs: []string{`spec.timeout: Invalid value: "0s": 0s means no limit, which exceeds the cluster maximum of 24h set in policy tasks.timeout.max; ask for at most 24h`},
		},
		{
			name: "negative", set: dur("-1s"),
			errs: []string{`spec.timeout: Invalid value: "-1s": must not be negative; 0s means no limit`},
		},
		{
			name: "audit", policy: "mode: audit\n" + max24h, set: dur("48h"),
			warnings: []string{"audit: would reject spec.timeout=48h: above the maximum 24h (tasks.timeout.max)"},
		},
		{
			name: "audit, no limit", policy: "mode: audit\n" + max24h, set: dur("0s"),
			warnings: []string{"audit: would reject spec.timeout=0s (no limit): above the maximum 24h (tasks.timeout.max)"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			errs, warnings := load(t, tt.policy).ValidateTaskTimeout(tt.set, path)
			assertErrors(t, errs, tt.errs)
			if !reflect.DeepEqual(warnings, tt.warnings) {
				t.Errorf("warnings = %q, want %q", warnings, tt.warnings)
			}
		})
	}
}

func TestTaskPending(t *testing.T) {
	since := time.Date(2026, 11, 2, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		policy string
		now    time.Time
		want   PendingDecision
	}{
		{name: "within the default 5m", now: since.Add(4 * time.Minute), want: PendingDecision{Remaining: time.Minute}},
		{name: "at the deadline", now: since.Add(5 * time.Minute), want: PendingDecision{Expired: true}},
		{name: "past the deadline", now: since.Add(time.Hour), want: PendingDecision{Expired: true}},
		{name: "0s never expires", policy: "tasks: {pendingDeadline: 0s}", now: since.Add(1000 * time.Hour), want: PendingDecision{}},
		{name: "audit", policy: "mode: audit", now: since.Add(time.Hour), want: PendingDecision{Expired: true, Audit: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := load(t, tt.policy).TaskPending(since, tt.now); got != tt.want {
				t.Errorf("TaskPending = %+v, want %+v", got, tt.want)
			}
		})
	}
}
