package patch

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
	"gomodules.xyz/jsonpatch/v2"
	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/taskgate/taskgate/policy"
)

// decisions returns a decision that sets ttl by rule, and the same in
// audit mode.
func decisions(ttl int32, rule string) (set, audit policy.TTLDecision) {
	set = policy.TTLDecision{TTL: ptr.To(ttl), Rule: rule, Outcome: policy.OutcomeSet}
	audit = set
	audit.Audit = true
	return set, audit
}

func TestJobTTL(t *testing.T) {
	set, audit := decisions(3600, "hour")
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

func TestJobCompletion(t *testing.T) {
	set, audit := decisions(60, "failed")
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
			got := JobCompletion(job, tt.decision)
			if !json.Valid(got) {
				t.Fatalf("patch is not JSON: %s", got)
			}
			if diff := cmp.Diff(tt.want, string(got)); diff != "" {
				t.Fatalf("patch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestJobUndecided(t *testing.T) {
	tests := []struct {
		name   string
		labels map[string]string
		want   []jsonpatch.JsonPatchOperation
	}{{
		name: "no labels",
	}, {
		name:   "other labels",
		labels: map[string]string{"team": "a"},
	}, {
		name:   "copied from a decided Job",
		labels: map[string]string{"team": "a", "taskgate.dev/completion-decided": "true"},
		want:   []jsonpatch.JsonPatchOperation{{Operation: "remove", Path: "/metadata/labels/taskgate.dev~1completion-decided"}},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			job := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Labels: tt.labels}}
			if diff := cmp.Diff(tt.want, JobUndecided(job)); diff != "" {
				t.Fatalf("patch (-want +got):\n%s", diff)
			}
		})
	}
}
