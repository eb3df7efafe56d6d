package v1alpha1

// Condition types and reasons, in one place so clients can import them:
// users and tools match on them (kubectl wait, alerts, the plugin), so they
// are part of the API.

// Condition types.
const (
	// ConditionSucceeded is the Task condition that summarises its
	// outcome: Unknown while it runs, True when it succeeded, False when
	// it failed or was cancelled. `kubectl wait --for=condition=Succeeded
	// task/NAME` waits on it.
	ConditionSucceeded = "Succeeded"
	// ConditionReady is the App condition that says whether its bindings
	// resolve, and the TaskSchedule condition that says whether it starts
	// Tasks at its ticks (False while suspended or when its App is
	// missing).
	ConditionReady = "Ready"
)

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
