package reconciler

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestReadyCondition(t *testing.T) {
	tests := []struct {
		name    string
		missing []string
		want    metav1.Condition
	}{{
		name: "every binding resolves",
		want: metav1.Condition{Type: "Ready", Status: metav1.ConditionTrue, Reason: "BindingsResolved",
			Message: "Every binding's Secret exists", ObservedGeneration: 3},
	}, {
		name:    "one binding's Secret is missing: the binding is named, not the Secret",
		missing: []string{"db"},
		want: metav1.Condition{Type: "Ready", Status: metav1.ConditionFalse, Reason: "SecretNotFound",
			Message: "The Secret of binding db was not found; create it, or Tasks start without those credentials", ObservedGeneration: 3},
	}, {
		name:    "several, in name order",
		missing: []string{"mq", "db"},
		want: metav1.Condition{Type: "Ready", Status: metav1.ConditionFalse, Reason: "SecretNotFound",
			Message: "The Secrets of bindings db, mq were not found; create them, or Tasks start without those credentials", ObservedGeneration: 3},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, readyCondition(3, tt.missing)); diff != "" {
				t.Errorf("readyCondition() (-want +got):\n%s", diff)
			}
		})
	}
}
