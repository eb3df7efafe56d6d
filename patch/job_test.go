package patch

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"gomodules.xyz/jsonpatch/v2"
	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/taskgate/taskgate/policy"
)

func TestJobTTL(t *testing.T) {
	set := policy.TTLDecision{TTL: ptr.To[int32](3600), Rule: "hour", Outcome: policy.OutcomeSet}
	audit := set
	audit.Audit = true
	tests := []struct {
		name     string
		existing map[string]string
		decision policy.TTLDecision
		want     []jsonpatch.JsonPatchOperation
	}{{
		name:     "no annotations yet",
		decision: set,
		want: []jsonpatch.JsonPatchOperation{
			{Operation: "add", Path: "/spec/ttlSecondsAfterFinished", Value: int32(3600)},
			{Operation: "add", Path: "/metadata/annotations", Value: map[string]string{
				"taskgate.dev/policy-decision": "set ttlSecondsAfterFinished=3600 (rule hour)",
				"taskgate.dev/ttl-source":      "policy",
			}},
		},
	}, {
		name:     "existing annotations are kept",
		existing: map[string]string{"team": "a"},
		decision: set,
		want: []jsonpatch.JsonPatchOperation{
			{Operation: "add", Path: "/spec/ttlSecondsAfterFinished", Value: int32(3600)},
			{Operation: "add", Path: "/metadata/annotations/taskgate.dev~1policy-decision", Value: "set ttlSecondsAfterFinished=3600 (rule hour)"},
			{Operation: "add", Path: "/metadata/annotations/taskgate.dev~1ttl-source", Value: "policy"},
		},
	}, {
		name:     "audit mode only annotates",
		decision: audit,
		want: []jsonpatch.JsonPatchOperation{
			{Operation: "add", Path: "/metadata/annotations", Value: map[string]string{
				"taskgate.dev/policy-decision": "audit: would set ttlSecondsAfterFinished=3600 (rule hour)",
			}},
		},
	}, {
		name:     "no rule, no patch",
		decision: policy.TTLDecision{Rule: policy.RuleDefault, Outcome: policy.OutcomeNoRule},
	}, {
		name:     "exempt, no patch",
		decision: policy.TTLDecision{Rule: "exempt:operator-job", Outcome: policy.OutcomeExempt, Exempt: true, Reason: policy.ExemptOperatorJob},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			job := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Annotations: tt.existing}}
			if diff := cmp.Diff(tt.want, JobTTL(job, tt.decision)); diff != "" {
				t.Fatalf("patch (-want +got):\n%s", diff)
			}
		})
	}
}
