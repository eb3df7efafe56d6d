package jobadmission

import (
	"testing"

	"k8s.io/utils/ptr"

	"github.com/taskgate/taskgate/policy"
)

func TestDecided(t *testing.T) {
	const doc = "ttl: {rules: [{name: day, kinds: [Job], when: Created, selector: {matchLabels: {app: web}}, ttlSecondsAfterFinished: 86400}]}"
	policyTTL := map[string]string{policy.AnnotationTTLSource: policy.TTLSourcePolicy}
	web := map[string]string{"app": "web"}
	tests := []struct {
		name    string
		mode    string
		facts   policy.ObjectFacts
		rule    string
		outcome policy.Outcome
		audit   bool
	}{
		{name: "set by the policies", facts: policy.ObjectFacts{Namespace: "a", Labels: web, Annotations: policyTTL, TTL: ptr.To[int32](86400)}, rule: "day", outcome: policy.OutcomeSet},
		{name: "the author's own", facts: policy.ObjectFacts{Namespace: "a", Labels: web, TTL: ptr.To[int32](60)}, rule: policy.RuleExplicit, outcome: policy.OutcomeExplicit},
		{name: "no rule", facts: policy.ObjectFacts{Namespace: "a"}, rule: policy.RuleDefault, outcome: policy.OutcomeNoRule},
		{name: "exempt", facts: policy.ObjectFacts{Namespace: "kube-system", Labels: web}, rule: "exempt:system-namespace", outcome: policy.OutcomeExempt},
		{name: "audit", mode: "mode: audit\n", facts: policy.ObjectFacts{Namespace: "a", Labels: web}, rule: "day", outcome: policy.OutcomeSet, audit: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.facts.Kind = policy.KindJob
			d := Decided(load(t, tt.mode+doc), tt.facts)
			if d.Rule != tt.rule || d.Outcome != tt.outcome || d.Audit != tt.audit {
				t.Errorf("Decided = rule %q, outcome %s, audit %v; want %q, %s, %v", d.Rule, d.Outcome, d.Audit, tt.rule, tt.outcome, tt.audit)
			}
		})
	}
}
