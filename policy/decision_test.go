package policy

import (
	"reflect"
	"strings"
	"testing"
)

func TestTTLDecisionString(t *testing.T) {
	long := strings.Repeat("r", 63)
	tests := []struct {
		d    TTLDecision
		want string
	}{
		{set(3600, "failed-jobs-week"), "set ttlSecondsAfterFinished=3600 (rule failed-jobs-week)"},
		{audited(set(3600, "failed-jobs-week")), "audit: would set ttlSecondsAfterFinished=3600 (rule failed-jobs-week)"},
		{replaced(set(3600, "day")), "replaced ttlSecondsAfterFinished with 3600 (rule day)"},
		{audited(replaced(set(3600, "day"))), "audit: would replace ttlSecondsAfterFinished with 3600 (rule day)"},
		{shortened(60, "quick"), "shortened ttlSecondsAfterFinished to 60 (rule quick)"},
		{audited(shortened(60, "quick")), "audit: would shorten ttlSecondsAfterFinished to 60 (rule quick)"},
		{bounded(set(3600, "fast"), BoundHookFloorSeconds), "set ttlSecondsAfterFinished=3600 (rule fast, raised to ttl.hookFloorSeconds)"},
		{bounded(set(30, "fast"), BoundMinSeconds), "set ttlSecondsAfterFinished=30 (rule fast, raised to ttl.minSeconds)"},
		{bounded(set(86400, "slow"), BoundMaxSeconds), "set ttlSecondsAfterFinished=86400 (rule slow, lowered to ttl.maxSeconds)"},
		{bounded(shortened(7260, "x"), BoundCompletionGraceSeconds), "shortened ttlSecondsAfterFinished to 7260 (rule x, raised by ttl.completionGraceSeconds)"},
		{unchanged("x"), "kept ttlSecondsAfterFinished: no longer than rule x gives"},
		{explicit, "kept explicit ttlSecondsAfterFinished (ttl.explicit: Respect)"},
		{audited(explicit), "audit: would keep explicit ttlSecondsAfterFinished (ttl.explicit: Respect)"},
		{noRule, "no TTL rule matched"},
		{exempt(ExemptOperatorJob), "exempt (operator-job)"},
		{audited(exempt(ExemptOptOut)), "audit: exempt (opt-out)"},
		{
			audited(bounded(shortened(2147483647, long), BoundCompletionGraceSeconds)),
			"audit: would shorten ttlSecondsAfterFinished to 2147483647 (rule " + long[:51] + "...",
		},
	}
	for _, tt := range tests {
		got := tt.d.String()
		if got != tt.want {
			t.Errorf("String():\n got %q\nwant %q", got, tt.want)
		}
		if len(got) >= 120 {
			t.Errorf("String() is %d characters, want < 120: %q", len(got), got)
		}
	}
}

func TestTTLDecisionApply(t *testing.T) {
	tests := []struct {
		name        string
		d           TTLDecision
		wantTTL     int32
		wantOK      bool
		annotations map[string]string
		policyOwned bool
	}{
		{
			name: "enforce writes the TTL and marks it as policy's", d: set(3600, "r"), wantTTL: 3600, wantOK: true, policyOwned: true,
			annotations: map[string]string{
				AnnotationDecision:  "set ttlSecondsAfterFinished=3600 (rule r)",
				AnnotationTTLSource: TTLSourcePolicy,
			},
		},
		{
			name: "audit writes only the decision", d: audited(shortened(60, "r")), policyOwned: true,
			annotations: map[string]string{AnnotationDecision: "audit: would shorten ttlSecondsAfterFinished to 60 (rule r)"},
		},
		{name: "unchanged writes nothing, but the TTL is policy's", d: unchanged("r"), policyOwned: true},
		{name: "exempt touches nothing", d: exempt(ExemptSystemNamespace)},
		{name: "explicit touches nothing", d: explicit},
		{name: "no rule touches nothing", d: TTLDecision{Rule: RuleDefault, Outcome: OutcomeNoRule}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ttl, ok := tt.d.WriteTTL()
			if ttl != tt.wantTTL || ok != tt.wantOK {
				t.Errorf("WriteTTL() = %d, %v; want %d, %v", ttl, ok, tt.wantTTL, tt.wantOK)
			}
			if got := tt.d.Annotations(); !reflect.DeepEqual(got, tt.annotations) {
				t.Errorf("Annotations() = %v, want %v", got, tt.annotations)
			}
			if got := tt.d.PolicyOwned(); got != tt.policyOwned {
				t.Errorf("PolicyOwned() = %t, want %t", got, tt.policyOwned)
			}
		})
	}
}
