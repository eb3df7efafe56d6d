package v1alpha1

// Condition reasons, in one place so clients can import them: users and
// tools match on them (kubectl wait, alerts, the plugin), so they are part
// of the API. The condition types, ConditionSucceeded (a Task's outcome)
// and ConditionReady (an App's or a TaskSchedule's), are declared beside
// their types.

// Reasons of a Task's Succeeded condition.
const (
	// TaskReasonPending: Unknown; the Task's pod is not running yet.
	TaskReasonPending = "Pending"
	// TaskReasonRunning: Unknown; the command is running.
	TaskReasonRunning = "Running"
	// TaskReasonSucceeded: True; the command exited with status 0.
	TaskReasonSucceeded = "Succeeded"
	// TaskReasonFailed: False; the command exited with a non-zero status.
	TaskReasonFailed = "Failed"
	// TaskReasonTimedOut: False; the run exceeded its timeout.
	TaskReasonTimedOut = "TimedOut"
	// TaskReasonCancelled: False; the run was cancelled.
	TaskReasonCancelled = "Cancelled"
	// TaskReasonPendingExpired: False; the pod did not start within the
	// pending deadline.
	TaskReasonPendingExpired = "PendingExpired"
	// TaskReasonRunFailed: False; Tekton or Kubernetes could not run the
	// command (invalid run, image pull failure, eviction, deleted
	// PipelineRun).
	TaskReasonRunFailed = "RunFailed"
	// TaskReasonRefused: False; taskgate will not run the Task (a
	// namespace its webhooks skip, a spec.resolved it did not write, or
	// one its App or policy no longer allows).
	TaskReasonRefused = "Refused"
)

// Reasons of an App's Ready condition.
const (
	// AppReasonBindingsResolved: True; every binding's Secret exists.
	AppReasonBindingsResolved = "BindingsResolved"
	// AppReasonSecretNotFound: False; a binding's Secret does not exist.
	AppReasonSecretNotFound = "SecretNotFound"
	// AppReasonBindingTypeMissing: False; a binding gets no
	// servicebinding.io type.
	AppReasonBindingTypeMissing = "BindingTypeMissing"
)

// Reasons of a TaskSchedule's Ready condition.
const (
	// TaskScheduleReasonScheduled: True; Tasks start at the ticks.
	TaskScheduleReasonScheduled = "Scheduled"
	// TaskScheduleReasonSuspended: False; spec.suspend is set.
	TaskScheduleReasonSuspended = "Suspended"
	// TaskScheduleReasonInvalidSchedule: False; the schedule or its time
	// zone cannot be read.
	TaskScheduleReasonInvalidSchedule = "InvalidSchedule"
	// TaskScheduleReasonTaskCreateFailed: False; the tick's Task could not
	// be created.
	TaskScheduleReasonTaskCreateFailed = "TaskCreateFailed"
)
