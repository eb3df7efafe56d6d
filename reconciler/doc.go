// Package reconciler holds taskgate's controllers: running each Task as a
// Tekton PipelineRun and mirroring its status, per-app task IDs, cancel,
// Task TTLs, the per-app cap, and completion-time TTLs for Jobs. Decisions
// come from package policy; the reconcilers gather facts through package
// facts, call in and apply the decisions.
//
// It may import api/v1alpha1 and the packages below it (policy, facts,
// inherit, patch, message, schedule, workload, binding); it must not
// import webhook or manager, which sit above it.
//
// Logs name objects as cluster-api's do, and as controller-runtime already
// names the object reconciled: the key is the Kind ("Task", "App", "Job",
// "PipelineRun", "TaskSchedule"), the value klog.KObj of the object, or
// klog.KRef when only its key is known. The webhooks, the manager and
// uninstall follow the same rule.
package reconciler
