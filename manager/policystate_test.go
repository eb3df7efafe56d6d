package manager

import (
	"testing"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func TestPolicyStateNext(t *testing.T) {
	key := types.NamespacedName{Namespace: "taskgate-system", Name: "taskgate-policy"}
	bad := field.ErrorList{field.Invalid(field.NewPath("data").Key("policy.yaml").Child("mode"), "loud", "must be enforce or audit")}
	absent := policyObservation{key: key}
	valid := func(rv string) policyObservation {
		return policyObservation{key: key, exists: true, resourceVersion: rv}
	}
	invalid := func(rv string) policyObservation {
		return policyObservation{key: key, exists: true, resourceVersion: rv, errs: bad}
	}
	const unreadyMessage = `policy ConfigMap taskgate-system/taskgate-policy (resourceVersion 7) does not load and no policy has loaded since this replica started; fix it with kubectl edit configmap -n taskgate-system taskgate-policy: data[policy.yaml].mode: Invalid value: "loud": must be enforce or audit`

	type step struct {
		obs         policyObservation
		outcome     policyOutcome
		enforced    string // "-" for none
		readyErrMsg string // "" for ready
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"before any look", nil},
		{"no ConfigMap: the defaults, ready", []step{
			{absent, policyDefaults, "", ""},
			{absent, policyUnchanged, "", ""},
		}},
		{"a valid ConfigMap loads", []step{
			{valid("5"), policyLoaded, "5", ""},
			{valid("5"), policyUnchanged, "5", ""},
		}},
		{"an invalid ConfigMap at start: not ready, saying why", []step{
			{invalid("7"), policyUnready, "-", unreadyMessage},
			{invalid("7"), policyUnchanged, "-", unreadyMessage},
		}},
		{"fixed after an invalid start: ready with the fix", []step{
			{invalid("7"), policyUnready, "-", unreadyMessage},
			{valid("8"), policyLoaded, "8", ""},
		}},
		{"invalid after a good one: the good one stays, ready", []step{
			{valid("5"), policyLoaded, "5", ""},
			{invalid("6"), policyKept, "5", ""},
			{invalid("6"), policyUnchanged, "5", ""},
			{valid("9"), policyLoaded, "9", ""},
		}},
		{"invalid after the defaults: the defaults stay, ready", []step{
			{absent, policyDefaults, "", ""},
			{invalid("6"), policyKept, "", ""},
		}},
		{"deleted while unready: the defaults, ready", []step{
			{invalid("7"), policyUnready, "-", unreadyMessage},
			{absent, policyDefaults, "", ""},
		}},
		{"deleted after a good one: the defaults", []step{
			{valid("5"), policyLoaded, "5", ""},
			{absent, policyDefaults, "", ""},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s policyState
			if len(tt.steps) == 0 {
				if err := s.ready(); err == nil || err.Error() != "policy not loaded yet" {
					t.Fatalf("ready() = %v, want policy not loaded yet", err)
				}
			}
			for i, st := range tt.steps {
				var outcome policyOutcome
				s, outcome = s.next(st.obs)
				if outcome != st.outcome {
					t.Errorf("step %d: outcome %d, want %d", i, outcome, st.outcome)
				}
				enforced := "-"
				if s.enforced != nil {
					enforced = *s.enforced
				}
				if enforced != st.enforced {
					t.Errorf("step %d: enforced %q, want %q", i, enforced, st.enforced)
				}
				msg := ""
				if err := s.ready(); err != nil {
					msg = err.Error()
				}
				if msg != st.readyErrMsg {
					t.Errorf("step %d: ready() = %q, want %q", i, msg, st.readyErrMsg)
				}
			}
		})
	}
}
