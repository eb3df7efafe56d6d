// Package reconciler holds taskgate's controllers: running each Task as a
// Tekton PipelineRun and mirroring its status, per-app task IDs, cancel,
// Task TTLs, the per-app cap, and completion-time TTLs for Jobs. Decisions
// come from package policy; the reconcilers gather facts and apply them.
package reconciler
