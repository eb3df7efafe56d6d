package patch

import (
	"encoding/json"

	"gomodules.xyz/jsonpatch/v2"
	batchv1 "k8s.io/api/batch/v1"

	"github.com/taskgate/taskgate/api/v1alpha1"
	"github.com/taskgate/taskgate/policy"
)

// JobTTL returns the operations that apply a TTL decision to a Job, at
// admission and when it finishes alike: the TTL itself (unless auditing)
// and the decision annotations. No operations when the decision changes
// nothing.
func JobTTL(job *batchv1.Job, d policy.TTLDecision) []jsonpatch.JsonPatchOperation {
	annotations := d.Annotations()
	if len(annotations) == 0 {
		return nil
	}
	var ops []jsonpatch.JsonPatchOperation
	if ttl, ok := d.WriteTTL(); ok {
		ops = append(ops, jsonpatch.NewOperation("add", "/spec/ttlSecondsAfterFinished", ttl))
	}
	return append(ops, AddToMap(job.Annotations != nil, "/metadata/annotations", annotations)...)
}

// JobCompletion returns the explicit JSON patch for a completion-time
// decision: a resourceVersion test, so a stale read changes nothing, the
// TTL unless auditing, the decision annotations, and the label that takes
// the Job out of the manager's watch: its decision is made.
func JobCompletion(job *batchv1.Job, d policy.TTLDecision) []byte {
	ops := []jsonpatch.JsonPatchOperation{jsonpatch.NewOperation("test", "/metadata/resourceVersion", job.ResourceVersion)}
	ops = append(ops, JobTTL(job, d)...)
	ops = append(ops, AddToMap(job.Labels != nil, "/metadata/labels", map[string]string{v1alpha1.LabelCompletionDecided: "true"})...)
	b, _ := json.Marshal(ops) // strings, numbers and string maps always marshal
	return b
}

// JobUndecided removes taskgate.dev/completion-decided from a new Job,
// copied there with another Job's labels: the manager watches only Jobs
// without it, and this one's completion is still to be decided.
func JobUndecided(job *batchv1.Job) []jsonpatch.JsonPatchOperation {
	if _, ok := job.Labels[v1alpha1.LabelCompletionDecided]; !ok {
		return nil
	}
	return []jsonpatch.JsonPatchOperation{jsonpatch.NewOperation("remove", "/metadata/labels/"+EscapeToken(v1alpha1.LabelCompletionDecided), nil)}
}
