package reconciler

import (
	"cmp"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"knative.dev/pkg/apis"

	"github.com/taskgate/taskgate/api/v1alpha1"
	"github.com/taskgate/taskgate/message"
	"github.com/taskgate/taskgate/policy"
)

// Length limits of the API: TaskStatus.failureReason and
// metav1.Condition.message.
const (
	maxFailureReason    = 1024
	maxConditionMessage = 32768
)

// StatusInput is everything ComputeTaskStatus reads.
type StatusInput struct {
	// Task as read; Task.Status is the previous status.
	Task *v1alpha1.Task
	// ID is the Task's ID when its status does not show it yet (see
	// ensureID); 0 keeps the status's.
	ID int64
	// PipelineRun runs the Task; nil until it exists.
	PipelineRun *pipelinev1.PipelineRun
	// TaskRun is the PipelineRun's TaskRun (see TaskRunName); nil until it
	// exists.
	TaskRun *pipelinev1.TaskRun
	// Now is the time of this reconcile.
	Now time.Time
	// PendingDeadline fails a Task still Pending this long after its
	// creation; 0 never does.
	PendingDeadline time.Duration
	// Refusal, when set, is why the Task must not run (see RunRefusal);
	// a Task that has not started fails with it.
	Refusal string
	// CreateError, when set, is why the PipelineRun could not be created
	// this time; the Task waits, saying so.
	CreateError string
}

// ComputeTaskStatus returns the Task's status as its PipelineRun and
// TaskRun show it. A finished Task keeps its status: a run deleted or
// changed later cannot move it back. status.id is carried over, or set
// to in.ID.
func ComputeTaskStatus(in StatusInput) v1alpha1.TaskStatus {
	task, gen := in.Task, in.Task.Generation
	if task.Status.State.IsFinished() {
		s := *task.Status.DeepCopy()
		s.ObservedGeneration = gen
		s.ID = cmp.Or(in.ID, s.ID)
		if c := meta.FindStatusCondition(s.Conditions, v1alpha1.ConditionSucceeded); c != nil {
			c.ObservedGeneration = gen // still true for the new generation
		}
		return s
	}

	// Second precision, as the API server stores times, so that a status
	// read back compares equal to the one computed.
	now := metav1.NewTime(in.Now.Truncate(time.Second))
	o := classify(in)
	s := v1alpha1.TaskStatus{
		ID:                 cmp.Or(in.ID, task.Status.ID),
		State:              o.state,
		Conditions:         slices.Clone(task.Status.Conditions), // holds no pointers
		ObservedGeneration: gen,
		ExitCode:           o.exitCode,
		FailureReason:      message.Truncate(o.failureReason, maxFailureReason, "…"),
	}
	if pr := in.PipelineRun; pr != nil {
		s.PipelineRunName = pr.Name
		// The PipelineRun's start, not the TaskRun's: it spans retries, and
		// completionTime comes from the same clock.
		s.StartTime = pr.Status.StartTime.DeepCopy()
		if o.state.IsFinished() {
			s.CompletionTime = pr.Status.CompletionTime.DeepCopy()
		}
	}
	if tr := in.TaskRun; tr != nil {
		s.PodName = tr.Status.PodName
		if s.StartTime == nil {
			s.StartTime = tr.Status.StartTime.DeepCopy()
		}
	}
	if in.PipelineRun == nil && in.TaskRun == nil {
		// A deleted run: keep what it showed while it existed.
		s.StartTime, s.PodName = task.Status.StartTime.DeepCopy(), task.Status.PodName
	}
	if s.PodName == "" || (s.State == v1alpha1.TaskStatePending && task.Status.State == v1alpha1.TaskStatePending && !o.waitNews) {
		// A TaskRun not seen this time (the cache catching up after an
		// API server restart) does not take back the pod the Task showed.
		// Nor is a new pod of a Pending Task news on its own: it is
		// published with Tekton's reason for the wait, or once it runs,
		// rather than costing a status write of its own. Until then
		// the pod is found by its labels.
		s.PodName = task.Status.PodName
	}
	if s.State == v1alpha1.TaskStatePending {
		// startTime is when the Task started running, which a Task waiting
		// for its first pod has not: Tekton's start of the run would cost
		// a status write and tell the user nothing. A retry keeps it.
		s.StartTime = task.Status.StartTime.DeepCopy()
	}
	if o.state.IsFinished() && s.CompletionTime == nil {
		s.CompletionTime = &now // finished by taskgate, not by Tekton
	}
	if s.StartTime != nil && s.CompletionTime != nil {
		d := max(s.CompletionTime.Sub(s.StartTime.Time), 0)
		s.Duration = &metav1.Duration{Duration: d.Round(time.Second)}
	}
	meta.SetStatusCondition(&s.Conditions, metav1.Condition{
		Type:               v1alpha1.ConditionSucceeded,
		Status:             o.status,
		Reason:             o.reason,
		Message:            message.Truncate(o.message, maxConditionMessage, "…"),
		ObservedGeneration: gen,
		LastTransitionTime: now,
	})
	return s
}

// outcome is the state of a Task and the words that explain it.
type outcome struct {
	state         v1alpha1.TaskState
	status        metav1.ConditionStatus
	reason        string
	message       string
	failureReason string
	exitCode      *int32
	// waitNews is set when a Pending Task's message passes on Tekton's
	// reason for the wait.
	waitNews bool
}

func classify(in StatusInput) outcome {
	pr, tr := in.PipelineRun, in.TaskRun
	if pr == nil {
		// A PipelineRun once seen and now gone was deleted. Creating it
		// again would run the command a second time, so the Task ends.
		seen := in.Task.Status.PipelineRunName
		switch {
		case in.Task.Spec.DesiredState == v1alpha1.DesiredStateCancelled && seen == "":
			return cancelled("Task was cancelled before it started")
		case in.Task.Spec.DesiredState == v1alpha1.DesiredStateCancelled:
			return cancelled("Task was cancelled")
		case seen != "":
			return runFailed(fmt.Sprintf("PipelineRun %s was deleted before it finished", seen))
		case in.Refusal != "":
			msg := "Task refused: " + in.Refusal
			return outcome{state: v1alpha1.TaskStateFailed, status: metav1.ConditionFalse, reason: v1alpha1.TaskReasonRefused,
				message: msg, failureReason: msg}
		}
		if in.CreateError != "" {
			return pending(in, "Waiting for the PipelineRun to be created: "+in.CreateError)
		}
		return pending(in, "Waiting for the PipelineRun to be created")
	}

	c := pr.Status.GetCondition(apis.ConditionSucceeded)
	switch {
	case c == nil || c.IsUnknown():
		if commandStarted(tr) {
			return notFinished(in, v1alpha1.TaskStateRunning, v1alpha1.TaskReasonRunning, fmt.Sprintf("Pod %s is running", tr.Status.PodName))
		}
		o := pending(in, pendingMessage(tr))
		o.waitNews = o.message != msgWaitingForPod
		return o
	case c.IsTrue():
		o := outcome{state: v1alpha1.TaskStateSucceeded, status: metav1.ConditionTrue, reason: v1alpha1.TaskReasonSucceeded, message: "Task completed successfully"}
		if st := mainStep(tr); st != nil && st.Terminated != nil {
			o.exitCode = new(st.Terminated.ExitCode)
		}
		return o
	}

	switch pipelinev1.PipelineRunReason(c.Reason) {
	case pipelinev1.PipelineRunReasonCancelled:
		return cancelled("Task was cancelled")
	case pipelinev1.PipelineRunReasonTimedOut:
		var limit *metav1.Duration
		if pr.Spec.Timeouts != nil {
			limit = pr.Spec.Timeouts.Pipeline
		}
		return timedOut(limit)
	case pipelinev1.PipelineRunReasonFailed:
		// The PipelineRun only says that its task failed; the TaskRun says why.
		if o, ok := taskRunFailure(tr); ok {
			return o
		}
	}
	if c.Message == "" {
		return runFailed("Tekton reported " + c.Reason)
	}
	return runFailed(c.Message)
}

// taskRunFailure explains a failed TaskRun: its own timeout, the command's
// exit status, or Tekton's message.
func taskRunFailure(tr *pipelinev1.TaskRun) (outcome, bool) {
	if tr == nil {
		return outcome{}, false
	}
	c := tr.Status.GetCondition(apis.ConditionSucceeded)
	if c != nil && c.Reason == pipelinev1.TaskRunReasonTimedOut.String() {
		return timedOut(tr.Spec.Timeout), true
	}
	if st := mainStep(tr); st != nil && st.Terminated != nil && st.Terminated.ExitCode != 0 && !stoppedByTekton(st, c) {
		msg := fmt.Sprintf("Exited with status %d", st.Terminated.ExitCode)
		if st.Terminated.Reason == "OOMKilled" {
			msg += " (out of memory)"
		}
		return outcome{state: v1alpha1.TaskStateFailed, status: metav1.ConditionFalse, reason: v1alpha1.TaskReasonFailed,
			message: msg, failureReason: msg, exitCode: new(st.Terminated.ExitCode)}, true
	}
	if c != nil && c.IsFalse() && c.Message != "" {
		return runFailed(startFailure(c.Message, tr)), true
	}
	return outcome{}, false
}

// startFailure explains a TaskRun that failed before its command ran. When
// kubelet could not create the container (CreateContainerConfigError),
// Tekton's message only says "config error"; kubelet's own words are in
// the step's waiting state, and for an image user that runAsNonRoot
// refuses, imageUserHint says what to set.
func startFailure(message string, tr *pipelinev1.TaskRun) string {
	for _, st := range tr.Status.Steps {
		if st.Waiting == nil || st.Waiting.Message == "" || strings.Contains(message, st.Waiting.Message) {
			continue
		}
		message += ": " + st.Waiting.Message
		break
	}
	if hint := imageUserHint(message); hint != "" {
		return hint + ". " + message
	}
	return message
}

// Kubelet's words when the image's user and runAsNonRoot disagree; Tekton
// fails the TaskRun at once with them.
var (
	kubeletRootImage      = "container has runAsNonRoot and image will run as root"
	kubeletNamedImageUser = regexp.MustCompile(`container has runAsNonRoot and image has non-numeric user \(([^)]*)\)`)
)

// imageUserHint says what to set when kubelet refused to start the Task's
// container because of the image's user: Tasks get runAsNonRoot by default
// (inherit's hardened security context), which images built to run as root
// or as a named user cannot satisfy. Empty for any other message.
func imageUserHint(message string) string {
	const set = "set the App's spec.securityContext.runAsUser (or spec.podSecurityContext.runAsUser) to "
	if strings.Contains(message, kubeletRootImage) {
		return "The image runs as root, and Tasks run as non-root unless their App says otherwise: " + set +
			"a non-zero UID the image can run as, or build the image with a numeric non-root USER"
	}
	if m := kubeletNamedImageUser.FindStringSubmatch(message); m != nil {
		return "The image names its user (" + m[1] + "), and Kubernetes cannot check that a name is non-root: " + set +
			"that user's UID, or build the image with a numeric USER"
	}
	return ""
}

// stoppedByTekton reports whether Tekton wrote the step's termination itself
// when it failed the TaskRun (cancel, timeout, image pull failure): it then
// uses the TaskRun's reason as the container's, and exit code 1 is Tekton's,
// not the command's.
func stoppedByTekton(st *pipelinev1.StepState, c *apis.Condition) bool {
	r := st.Terminated.Reason
	return (c != nil && r == c.Reason) ||
		r == pipelinev1.TaskRunReasonCancelled.String() || r == pipelinev1.TaskRunReasonTimedOut.String()
}

// commandStarted reports whether the TaskRun's current attempt has started
// the command: the TaskRun has a start and a pod, and the main step is
// running, or has terminated in a TaskRun that is done. Tekton writes a
// step's termination and the TaskRun's outcome in the same update, so a
// terminated step in a TaskRun still running is left over from an attempt
// being retried, whose next pod has not started.
func commandStarted(tr *pipelinev1.TaskRun) bool {
	if tr == nil || !tr.HasStarted() || tr.Status.PodName == "" {
		return false
	}
	st := mainStep(tr)
	if st == nil {
		return false
	}
	return st.Running != nil || (st.Terminated != nil && tr.IsDone())
}

func mainStep(tr *pipelinev1.TaskRun) *pipelinev1.StepState {
	if tr == nil {
		return nil
	}
	for i := range tr.Status.Steps {
		if tr.Status.Steps[i].Name == StepName {
			return &tr.Status.Steps[i]
		}
	}
	return nil
}

// msgWaitingForPod is a Pending Task's message while its PipelineRun
// exists and Tekton gives no reason for the wait.
const msgWaitingForPod = "Waiting for the pod to start"

// pendingMessage passes on why the pod is waiting (scheduling, image pull)
// when Tekton says.
func pendingMessage(tr *pipelinev1.TaskRun) string {
	var c *apis.Condition
	if tr != nil {
		c = tr.Status.GetCondition(apis.ConditionSucceeded)
	}
	// Tekton's message for a pod it has no news of is its reason again,
	// "Pending": passing it on would cost a status write and say nothing.
	// Nor is the pod's creation: one message holds from the PipelineRun's
	// creation until the pod runs or Tekton says why it waits, one status
	// write rather than two.
	if c == nil || c.Message == "" || c.Message == c.Reason ||
		c.Reason == pipelinev1.TaskRunReasonStarted.String() || c.Reason == pipelinev1.TaskRunReasonRunning.String() {
		return msgWaitingForPod
	}
	return msgWaitingForPod + ": " + c.Message
}

// pending is Pending, or Failed once the pending deadline has passed. A
// TaskRun being retried has run before, so its wait does not count.
func pending(in StatusInput, message string) outcome {
	created := in.Task.CreationTimestamp
	retried := in.TaskRun != nil && len(in.TaskRun.Status.RetriesStatus) > 0
	if in.PendingDeadline > 0 && !created.IsZero() && !retried && in.Now.Sub(created.Time) >= in.PendingDeadline {
		return outcome{state: v1alpha1.TaskStateFailed, status: metav1.ConditionFalse, reason: v1alpha1.TaskReasonPendingExpired,
			message:       fmt.Sprintf("%s: its pod did not start within %s of creation", policy.PendingExpiredMessage, in.PendingDeadline),
			failureReason: policy.PendingExpiredMessage}
	}
	return notFinished(in, v1alpha1.TaskStatePending, v1alpha1.TaskReasonPending, message)
}

func notFinished(in StatusInput, state v1alpha1.TaskState, reason, message string) outcome {
	if in.Task.Spec.DesiredState == v1alpha1.DesiredStateCancelled {
		message += "; cancelling"
	}
	return outcome{state: state, status: metav1.ConditionUnknown, reason: reason, message: message}
}

func cancelled(message string) outcome {
	return outcome{state: v1alpha1.TaskStateCancelled, status: metav1.ConditionFalse, reason: v1alpha1.TaskReasonCancelled,
		message: message, failureReason: message}
}

func timedOut(limit *metav1.Duration) outcome {
	msg := "Task timed out"
	if limit != nil && limit.Duration > 0 {
		msg = fmt.Sprintf("Task timed out after %s", limit.Duration)
	}
	return outcome{state: v1alpha1.TaskStateFailed, status: metav1.ConditionFalse, reason: v1alpha1.TaskReasonTimedOut,
		message: msg, failureReason: msg}
}

func runFailed(message string) outcome {
	return outcome{state: v1alpha1.TaskStateFailed, status: metav1.ConditionFalse, reason: v1alpha1.TaskReasonRunFailed,
		message: message, failureReason: message}
}

// TaskRunName returns the name of pr's TaskRun from status.childReferences,
// or "" until Tekton has created it.
func TaskRunName(pr *pipelinev1.PipelineRun) string {
	if pr == nil {
		return ""
	}
	for _, ref := range pr.Status.ChildReferences {
		if ref.PipelineTaskName == PipelineTaskName && ref.Kind == "TaskRun" {
			return ref.Name
		}
	}
	return ""
}

// ShouldCancel reports whether the reconciler must apply CancelPatch to pr:
// pr still runs, nobody has cancelled it yet, and either the user asked to
// cancel the Task or taskgate has already finished it (its pending deadline
// expired). task.Status is the status just computed.
func ShouldCancel(task *v1alpha1.Task, pr *pipelinev1.PipelineRun) bool {
	if pr == nil || pr.IsDone() || pr.IsCancelled() {
		return false
	}
	return task.Spec.DesiredState == v1alpha1.DesiredStateCancelled || task.Status.State.IsFinished()
}

// PendingDeadlineIn returns how long until a Pending Task's deadline passes,
// for the reconciler to look again then. ok is false when no deadline
// applies: the Task is not Pending or deadline is 0.
func PendingDeadlineIn(task *v1alpha1.Task, now time.Time, deadline time.Duration) (remaining time.Duration, ok bool) {
	if deadline <= 0 || task.Status.State != v1alpha1.TaskStatePending {
		return 0, false
	}
	return max(task.CreationTimestamp.Add(deadline).Sub(now), 0), true
}
