package reconciler

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/taskgate/taskgate/policy"
)

func TestJobCompletionPatch(t *testing.T) {
	set := policy.TTLDecision{TTL: ptr.To[int32](60), Rule: "failed", Outcome: policy.OutcomeSet}
	audit := set
	audit.Audit = true
	tests := []struct {
		name                string
		labels, annotations map[string]string
		decision            policy.TTLDecision
		want                string
	}{{
		name:     "a Job with neither labels nor annotations",
		decision: set,
		want: `[{"op":"test","path":"/metadata/resourceVersion","value":"7"},` +
			`{"op":"add","path":"/spec/ttlSecondsAfterFinished","value":60},` +
			`{"op":"add","path":"/metadata/annotations","value":{"taskgate.dev/policy-decision":"set ttlSecondsAfterFinished=60 (rule failed)","taskgate.dev/ttl-source":"policy"}},` +
			`{"op":"add","path":"/metadata/labels","value":{"taskgate.dev/completion-decided":"true"}}]`,
	}, {
		name:        "a Job's own labels and annotations stay",
		labels:      map[string]string{"team": "a"},
		annotations: map[string]string{"owner": "b"},
		decision:    set,
		want: `[{"op":"test","path":"/metadata/resourceVersion","value":"7"},` +
			`{"op":"add","path":"/spec/ttlSecondsAfterFinished","value":60},` +
			`{"op":"add","path":"/metadata/annotations/taskgate.dev~1policy-decision","value":"set ttlSecondsAfterFinished=60 (rule failed)"},` +
			`{"op":"add","path":"/metadata/annotations/taskgate.dev~1ttl-source","value":"policy"},` +
			`{"op":"add","path":"/metadata/labels/taskgate.dev~1completion-decided","value":"true"}]`,
	}, {
		name:     "audit mode writes no TTL, but the decision is made",
		labels:   map[string]string{"team": "a"},
		decision: audit,
		want: `[{"op":"test","path":"/metadata/resourceVersion","value":"7"},` +
			`{"op":"add","path":"/metadata/annotations","value":{"taskgate.dev/policy-decision":"audit: would set ttlSecondsAfterFinished=60 (rule failed)"}},` +
			`{"op":"add","path":"/metadata/labels/taskgate.dev~1completion-decided","value":"true"}]`,
	}, {
		name:     "policy's TTL from admission stands: only the label",
		labels:   map[string]string{"team": "a"},
		decision: policy.TTLDecision{Rule: "failed", Outcome: policy.OutcomeUnchanged},
		want: `[{"op":"test","path":"/metadata/resourceVersion","value":"7"},` +
			`{"op":"add","path":"/metadata/labels/taskgate.dev~1completion-decided","value":"true"}]`,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			job := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{ResourceVersion: "7", Labels: tt.labels, Annotations: tt.annotations}}
			got := JobCompletionPatch(job, tt.decision)
			if !json.Valid(got) {
				t.Fatalf("patch is not JSON: %s", got)
			}
			if diff := cmp.Diff(tt.want, string(got)); diff != "" {
				t.Fatalf("patch (-want +got):\n%s", diff)
			}
		})
	}
}
