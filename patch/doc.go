// Package patch builds the explicit RFC 6902 JSON-patch operations taskgate
// sends for objects it does not own (Jobs, PipelineRuns): only the fields
// taskgate sets, never a re-marshalled whole object, which would write
// zero values the object's author never set. It owns the Job patches:
// JobTTL, the one builder of a Job's TTL patch, which the webhook sends at
// admission (with JobUndecided) and the reconciler, inside JobCompletion,
// when the Job finishes.
//
// It may import api/v1alpha1, for taskgate's labels, and policy, for the
// decisions it writes; it must not import inherit, webhook, reconciler or
// manager, which build on it.
package patch
