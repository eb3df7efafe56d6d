package patch

import (
	"gomodules.xyz/jsonpatch/v2"
	batchv1 "k8s.io/api/batch/v1"

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
