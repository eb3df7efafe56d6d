// Package patch builds the explicit RFC 6902 JSON-patch operations taskgate
// sends for objects it does not own (Jobs, PipelineRuns): only the fields
// taskgate sets, never a re-marshalled whole object, which would write
// zero values the object's author never set. JobTTL is the one builder of
// a Job's TTL patch, for the webhook at admission and the reconciler when
// the Job finishes.
//
// It may import policy, for the decisions it writes, and must not import
// inherit, webhook, reconciler or manager, which build on it.
package patch
