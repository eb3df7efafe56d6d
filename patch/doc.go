// Package patch builds the explicit RFC 6902 JSON-patch operations taskgate
// sends for objects it does not own (Jobs, PipelineRuns): only the fields
// taskgate sets, never a re-marshalled whole object, which would write
// zero values the object's author never set.
package patch
