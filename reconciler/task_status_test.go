package reconciler

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"knative.dev/pkg/apis"
	duckv1 "knative.dev/pkg/apis/duck/v1"

	"github.com/taskgate/taskgate/api/v1alpha1"
)

// created is when the Task was created; at(d) is d later.
var created = time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)

func at(d time.Duration) time.Time { return created.Add(d) }

func mt(d time.Duration) *metav1.Time { return new(metav1.NewTime(at(d))) }

func statusTask() *v1alpha1.Task {
	t := minimalTask()
	t.CreationTimestamp = metav1.NewTime(created)
	t.Spec.DesiredState = v1alpha1.DesiredStateRun
	return t
}

func cancelRequested(t *v1alpha1.Task) *v1alpha1.Task {
	t.Spec.DesiredState = v1alpha1.DesiredStateCancelled
	return t
}

// runningTask is statusTask as it is once its pod runs.
func runningTask() *v1alpha1.Task {
	return withStatus(statusTask(), v1alpha1.TaskStatus{ID: 7, State: "Running", ObservedGeneration: 1, PipelineRunName: "migrate", PodName: "migrate-run-pod",
		StartTime:  mt(5 * time.Second),
		Conditions: []metav1.Condition{succeeded("Unknown", "Running", "Pod migrate-run-pod is running", 30*time.Second)}})
}

func withStatus(t *v1alpha1.Task, s v1alpha1.TaskStatus) *v1alpha1.Task {
	t.Status = s
	return t
}

// cond is the Succeeded condition in Tekton's (knative's) form.
func cond(status corev1.ConditionStatus, reason, message string) *apis.Condition {
	return &apis.Condition{Type: apis.ConditionSucceeded, Status: status, Reason: reason, Message: message}
}

func pipelineRun(c *apis.Condition, start, completion *metav1.Time) *pipelinev1.PipelineRun {
	pr := minimalPipelineRun()
	pr.Status.StartTime, pr.Status.CompletionTime = start, completion
	if c != nil {
		pr.Status.Status = duckv1.Status{Conditions: duckv1.Conditions{*c}}
	}
	if start != nil {
		pr.Status.ChildReferences = []pipelinev1.ChildStatusReference{{
			TypeMeta: runtime.TypeMeta{APIVersion: "tekton.dev/v1", Kind: "TaskRun"}, Name: "migrate-run", PipelineTaskName: "run",
		}}
	}
	return pr
}

func taskRun(c *apis.Condition, start *metav1.Time, podName string, steps ...pipelinev1.StepState) *pipelinev1.TaskRun {
	tr := &pipelinev1.TaskRun{ObjectMeta: metav1.ObjectMeta{Name: "migrate-run", Namespace: "shop"}}
	tr.Status.StartTime, tr.Status.PodName, tr.Status.Steps = start, podName, steps
	if c != nil {
		tr.Status.Status = duckv1.Status{Conditions: duckv1.Conditions{*c}}
	}
	return tr
}

func waitingStep() pipelinev1.StepState {
	return pipelinev1.StepState{Name: "main", Container: "step-main",
		ContainerState: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}}}
}

func runningStep() pipelinev1.StepState {
	return pipelinev1.StepState{Name: "main", Container: "step-main",
		ContainerState: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: *mt(20 * time.Second)}}}
}

func terminatedStep(exitCode int32, reason string) pipelinev1.StepState {
	return pipelinev1.StepState{Name: "main", Container: "step-main", TerminationReason: reason,
		ContainerState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
			ExitCode: exitCode, Reason: reason, StartedAt: *mt(20 * time.Second), FinishedAt: *mt(90 * time.Second)}}}
}

// succeeded is the expected Task condition, at generation 1.
func succeeded(status metav1.ConditionStatus, reason, message string, lastTransition time.Duration) metav1.Condition {
	return metav1.Condition{Type: "Succeeded", Status: status, Reason: reason, Message: message,
		ObservedGeneration: 1, LastTransitionTime: metav1.NewTime(at(lastTransition))}
}

// rootImageFailure is how a Task whose image runs as root fails under the
// default runAsNonRoot.
const rootImageFailure = "The image runs as root, and Tasks run as non-root unless their App says otherwise: " +
	"set the App's spec.securityContext.runAsUser (or spec.podSecurityContext.runAsUser) to a non-zero UID the image can run as, " +
	"or build the image with a numeric non-root USER. Failed to create pod due to config error: " +
	`container has runAsNonRoot and image will run as root (pod: "migrate-run-pod_shop(0b1c)", container: step-main)`

func TestComputeTaskStatus(t *testing.T) {
	runningPR := pipelineRun(cond(corev1.ConditionUnknown, "Running", "Tasks Completed: 0 (Failed: 0, Cancelled 0), Incomplete: 1, Skipped: 0"), mt(5*time.Second), nil)
	failedPR := pipelineRun(cond(corev1.ConditionFalse, "Failed", "Tasks Completed: 1 (Failed: 1, Cancelled 0), Skipped: 0"), mt(5*time.Second), mt(95*time.Second))
	pendingTR := taskRun(cond(corev1.ConditionUnknown, "Pending", `pod status "PodScheduled":"False"; message: "0/1 nodes are available: 1 Insufficient memory."`), mt(6*time.Second), "migrate-run-pod", waitingStep())
	runningTR := taskRun(cond(corev1.ConditionUnknown, "Running", "Not all Steps in the Task have finished executing"), mt(6*time.Second), "migrate-run-pod", runningStep())
	// A TaskRun whose first attempt failed and whose retry's pod has not
	// started: Tekton kept the old step state.
	retryingTR := taskRun(cond(corev1.ConditionUnknown, "Running", "Not all Steps in the Task have finished executing"), mt(100*time.Second), "migrate-run-pod-retry1", terminatedStep(1, "Error"))
	retryingTR.Status.RetriesStatus = pipelinev1.RetriesStatus{{TaskRunStatusFields: pipelinev1.TaskRunStatusFields{PodName: "migrate-run-pod"}}}
	longMessage := strings.Repeat("x", 2000)

	tests := []struct {
		name     string
		task     *v1alpha1.Task
		id       int64 // StatusInput.ID
		pr       *pipelinev1.PipelineRun
		tr       *pipelinev1.TaskRun
		now      time.Duration // after created
		deadline time.Duration
		refusal  string
		// createError is StatusInput.CreateError.
		createError string
		want        v1alpha1.TaskStatus
	}{
		{
			name: "no PipelineRun yet",
			task: statusTask(),
			now:  time.Second,
			want: v1alpha1.TaskStatus{
				ID: 7, State: "Pending", ObservedGeneration: 1,
				Conditions: []metav1.Condition{succeeded("Unknown", "Pending", "Waiting for the PipelineRun to be created", time.Second)},
			},
		},
		{
			name: "PipelineRun just created, no status",
			task: statusTask(),
			pr:   pipelineRun(nil, nil, nil),
			now:  2 * time.Second,
			want: v1alpha1.TaskStatus{
				ID: 7, State: "Pending", ObservedGeneration: 1, PipelineRunName: "migrate",
				Conditions: []metav1.Condition{succeeded("Unknown", "Pending", "Waiting for the pod to start", 2*time.Second)},
			},
		},
		{
			name: "pod pending: Tekton's reason is passed on",
			task: statusTask(),
			pr:   runningPR,
			tr:   pendingTR,
			now:  10 * time.Second,
			want: v1alpha1.TaskStatus{
				ID: 7, State: "Pending", ObservedGeneration: 1, PipelineRunName: "migrate", PodName: "migrate-run-pod",
				Conditions: []metav1.Condition{succeeded("Unknown", "Pending",
					`Waiting for the pod to start: pod status "PodScheduled":"False"; message: "0/1 nodes are available: 1 Insufficient memory."`, 10*time.Second)},
			},
		},
		{
			name: "pod pending with no news: Tekton's message repeats its reason and is not passed on",
			task: statusTask(),
			pr:   runningPR,
			tr:   taskRun(cond(corev1.ConditionUnknown, "Pending", "Pending"), mt(6*time.Second), "migrate-run-pod", waitingStep()),
			now:  10 * time.Second,
			want: v1alpha1.TaskStatus{
				ID: 7, State: "Pending", ObservedGeneration: 1, PipelineRunName: "migrate", PodName: "migrate-run-pod",
				Conditions: []metav1.Condition{succeeded("Unknown", "Pending", "Waiting for the pod to start", 10*time.Second)},
			},
		},
		{
			// The pod's name alone would cost a status write, between the
			// first Pending status and Running, and say nothing new.
			name: "pod created with no news: the Pending status stays as written",
			task: withStatus(statusTask(), v1alpha1.TaskStatus{ID: 7, State: "Pending", ObservedGeneration: 1, PipelineRunName: "migrate",
				Conditions: []metav1.Condition{succeeded("Unknown", "Pending", "Waiting for the pod to start", 2*time.Second)}}),
			pr:  runningPR,
			tr:  taskRun(cond(corev1.ConditionUnknown, "Pending", "Pending"), mt(6*time.Second), "migrate-run-pod", waitingStep()),
			now: 10 * time.Second,
			want: v1alpha1.TaskStatus{
				ID: 7, State: "Pending", ObservedGeneration: 1, PipelineRunName: "migrate",
				Conditions: []metav1.Condition{succeeded("Unknown", "Pending", "Waiting for the pod to start", 2*time.Second)},
			},
		},
		{
			name: "pod pending, with Tekton's reason: the pod is named with it",
			task: withStatus(statusTask(), v1alpha1.TaskStatus{ID: 7, State: "Pending", ObservedGeneration: 1, PipelineRunName: "migrate",
				Conditions: []metav1.Condition{succeeded("Unknown", "Pending", "Waiting for the pod to start", 2*time.Second)}}),
			pr:  runningPR,
			tr:  pendingTR,
			now: 10 * time.Second,
			want: v1alpha1.TaskStatus{
				ID: 7, State: "Pending", ObservedGeneration: 1, PipelineRunName: "migrate", PodName: "migrate-run-pod",
				Conditions: []metav1.Condition{succeeded("Unknown", "Pending",
					`Waiting for the pod to start: pod status "PodScheduled":"False"; message: "0/1 nodes are available: 1 Insufficient memory."`, 2*time.Second)},
			},
		},
		{
			name:        "PipelineRun not created: the Task says why, with its new ID",
			task:        withStatus(statusTask(), v1alpha1.TaskStatus{}),
			id:          8,
			createError: `pipelineruns.tekton.dev "migrate" is forbidden: exceeded quota: runs, requested: count/pipelineruns.tekton.dev=1, used: count/pipelineruns.tekton.dev=0, limited: count/pipelineruns.tekton.dev=0`,
			now:         time.Second,
			want: v1alpha1.TaskStatus{
				ID: 8, State: "Pending", ObservedGeneration: 1,
				Conditions: []metav1.Condition{succeeded("Unknown", "Pending",
					`Waiting for the PipelineRun to be created: pipelineruns.tekton.dev "migrate" is forbidden: exceeded quota: runs, requested: count/pipelineruns.tekton.dev=1, used: count/pipelineruns.tekton.dev=0, limited: count/pipelineruns.tekton.dev=0`, time.Second)},
			},
		},
		{
			name: "TaskRun without a pod yet: the same message as with one",
			task: statusTask(),
			pr:   runningPR,
			tr:   taskRun(cond(corev1.ConditionUnknown, "Pending", "Pending"), mt(6*time.Second), ""),
			now:  10 * time.Second,
			want: v1alpha1.TaskStatus{
				ID: 7, State: "Pending", ObservedGeneration: 1, PipelineRunName: "migrate",
				Conditions: []metav1.Condition{succeeded("Unknown", "Pending", "Waiting for the pod to start", 10*time.Second)},
			},
		},
		{
			name: "an ID not yet written goes out with the status",
			task: withStatus(statusTask(), v1alpha1.TaskStatus{}),
			id:   8,
			pr:   runningPR,
			now:  10 * time.Second,
			want: v1alpha1.TaskStatus{
				ID: 8, State: "Pending", ObservedGeneration: 1, PipelineRunName: "migrate",
				Conditions: []metav1.Condition{succeeded("Unknown", "Pending", "Waiting for the pod to start", 10*time.Second)},
			},
		},
		{
			name: "running; lastTransitionTime kept from Pending, both Unknown",
			task: withStatus(statusTask(), v1alpha1.TaskStatus{ID: 7, State: "Pending", ObservedGeneration: 1,
				Conditions: []metav1.Condition{succeeded("Unknown", "Pending", "Waiting for the PipelineRun to be created", time.Second)}}),
			pr:  runningPR,
			tr:  runningTR,
			now: 30 * time.Second,
			want: v1alpha1.TaskStatus{
				ID: 7, State: "Running", ObservedGeneration: 1, PipelineRunName: "migrate", PodName: "migrate-run-pod",
				StartTime:  mt(5 * time.Second),
				Conditions: []metav1.Condition{succeeded("Unknown", "Running", "Pod migrate-run-pod is running", time.Second)},
			},
		},
		{
			name: "TaskRun done before the PipelineRun noticed: still Running",
			task: statusTask(),
			pr:   runningPR,
			tr:   taskRun(cond(corev1.ConditionTrue, "Succeeded", "All Steps have completed executing"), mt(6*time.Second), "migrate-run-pod", terminatedStep(0, "Completed")),
			now:  91 * time.Second,
			want: v1alpha1.TaskStatus{
				ID: 7, State: "Running", ObservedGeneration: 1, PipelineRunName: "migrate", PodName: "migrate-run-pod",
				StartTime:  mt(5 * time.Second),
				Conditions: []metav1.Condition{succeeded("Unknown", "Running", "Pod migrate-run-pod is running", 91*time.Second)},
			},
		},
		{
			name: "succeeded",
			task: withStatus(statusTask(), v1alpha1.TaskStatus{ID: 7, State: "Running", ObservedGeneration: 1, PipelineRunName: "migrate",
				Conditions: []metav1.Condition{succeeded("Unknown", "Running", "Pod migrate-run-pod is running", 30*time.Second)}}),
			pr: pipelineRun(cond(corev1.ConditionTrue, "Succeeded", "Tasks Completed: 1 (Failed: 0, Cancelled 0), Skipped: 0"),
				mt(5*time.Second), new(metav1.NewTime(at(95*time.Second+600*time.Millisecond)))),
			tr:  taskRun(cond(corev1.ConditionTrue, "Succeeded", "All Steps have completed executing"), mt(6*time.Second), "migrate-run-pod", terminatedStep(0, "Completed")),
			now: 97 * time.Second,
			want: v1alpha1.TaskStatus{
				ID: 7, State: "Succeeded", ObservedGeneration: 1, PipelineRunName: "migrate", PodName: "migrate-run-pod",
				StartTime:      mt(5 * time.Second),
				CompletionTime: new(metav1.NewTime(at(95*time.Second + 600*time.Millisecond))),
				Duration:       &metav1.Duration{Duration: 91 * time.Second},
				ExitCode:       new(int32(0)),
				Conditions:     []metav1.Condition{succeeded("True", "Succeeded", "Task completed successfully", 97*time.Second)},
			},
		},
		{
			// After an API server restart the cache may show the finished
			// PipelineRun before its TaskRun.
			name: "succeeded, TaskRun not seen",
			task: withStatus(statusTask(), v1alpha1.TaskStatus{ID: 7, State: "Running", ObservedGeneration: 1, PipelineRunName: "migrate", PodName: "migrate-run-pod",
				Conditions: []metav1.Condition{succeeded("Unknown", "Running", "Pod migrate-run-pod is running", 30*time.Second)}}),
			pr: pipelineRun(cond(corev1.ConditionTrue, "Succeeded", "Tasks Completed: 1 (Failed: 0, Cancelled 0), Skipped: 0"),
				mt(5*time.Second), new(metav1.NewTime(at(95*time.Second)))),
			now: 97 * time.Second,
			want: v1alpha1.TaskStatus{
				ID: 7, State: "Succeeded", ObservedGeneration: 1, PipelineRunName: "migrate", PodName: "migrate-run-pod",
				StartTime:      mt(5 * time.Second),
				CompletionTime: new(metav1.NewTime(at(95 * time.Second))),
				Duration:       &metav1.Duration{Duration: 90 * time.Second},
				Conditions:     []metav1.Condition{succeeded("True", "Succeeded", "Task completed successfully", 97*time.Second)},
			},
		},
		{
			name: "failed with exit status 127",
			task: statusTask(),
			pr:   failedPR,
			tr: taskRun(cond(corev1.ConditionFalse, "StepFailed", `"step-main" exited with code 127: Error`),
				mt(6*time.Second), "migrate-run-pod", terminatedStep(127, "Error")),
			now: 96 * time.Second,
			want: v1alpha1.TaskStatus{
				ID: 7, State: "Failed", ObservedGeneration: 1, PipelineRunName: "migrate", PodName: "migrate-run-pod",
				StartTime: mt(5 * time.Second), CompletionTime: mt(95 * time.Second), Duration: &metav1.Duration{Duration: 90 * time.Second},
				ExitCode:      new(int32(127)),
				FailureReason: "Exited with status 127",
				Conditions:    []metav1.Condition{succeeded("False", "Failed", "Exited with status 127", 96*time.Second)},
			},
		},
		{
			name: "out of memory",
			task: statusTask(),
			pr:   failedPR,
			tr: taskRun(cond(corev1.ConditionFalse, "StepOOM", `"step-main" exited with code 137: OOMKilled`),
				mt(6*time.Second), "migrate-run-pod", terminatedStep(137, "OOMKilled")),
			now: 96 * time.Second,
			want: v1alpha1.TaskStatus{
				ID: 7, State: "Failed", ObservedGeneration: 1, PipelineRunName: "migrate", PodName: "migrate-run-pod",
				StartTime: mt(5 * time.Second), CompletionTime: mt(95 * time.Second), Duration: &metav1.Duration{Duration: 90 * time.Second},
				ExitCode:      new(int32(137)),
				FailureReason: "Exited with status 137 (out of memory)",
				Conditions:    []metav1.Condition{succeeded("False", "Failed", "Exited with status 137 (out of memory)", 96*time.Second)},
			},
		},
		{
			name: "image runs as root: kubelet's words from the step, and what to set",
			task: statusTask(),
			pr:   failedPR,
			tr: taskRun(cond(corev1.ConditionFalse, "CreateContainerConfigError", "Failed to create pod due to config error"),
				mt(6*time.Second), "migrate-run-pod", pipelinev1.StepState{Name: "main", Container: "step-main",
					ContainerState: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CreateContainerConfigError",
						Message: `container has runAsNonRoot and image will run as root (pod: "migrate-run-pod_shop(0b1c)", container: step-main)`}}}),
			now: 96 * time.Second,
			want: v1alpha1.TaskStatus{
				ID: 7, State: "Failed", ObservedGeneration: 1, PipelineRunName: "migrate", PodName: "migrate-run-pod",
				StartTime: mt(5 * time.Second), CompletionTime: mt(95 * time.Second), Duration: &metav1.Duration{Duration: 90 * time.Second},
				FailureReason: rootImageFailure,
				Conditions:    []metav1.Condition{succeeded("False", "RunFailed", rootImageFailure, 96*time.Second)},
			},
		},
		{
			name: "timed out: Tekton's exit code 1 is not reported",
			task: statusTask(),
			pr: pipelineRun(cond(corev1.ConditionFalse, "PipelineRunTimeout", `PipelineRun "migrate" failed to finish within "30m0s"`),
				mt(5*time.Second), mt(30*time.Minute+6*time.Second)),
			tr: taskRun(cond(corev1.ConditionFalse, "TaskRunTimeout", `TaskRun "migrate-run" failed to finish within "1h0m0s"`),
				mt(6*time.Second), "migrate-run-pod", terminatedStep(1, "TaskRunTimeout")),
			now: 31 * time.Minute,
			want: v1alpha1.TaskStatus{
				ID: 7, State: "Failed", ObservedGeneration: 1, PipelineRunName: "migrate", PodName: "migrate-run-pod",
				StartTime: mt(5 * time.Second), CompletionTime: mt(30*time.Minute + 6*time.Second), Duration: &metav1.Duration{Duration: 30*time.Minute + time.Second},
				FailureReason: "Task timed out after 30m0s",
				Conditions:    []metav1.Condition{succeeded("False", "TimedOut", "Task timed out after 30m0s", 31*time.Minute)},
			},
		},
		{
			name: "the TaskRun's own timeout",
			task: statusTask(),
			pr:   failedPR,
			tr: func() *pipelinev1.TaskRun {
				tr := taskRun(cond(corev1.ConditionFalse, "TaskRunTimeout", `TaskRun "migrate-run" failed to finish within "1h0m0s"`),
					mt(6*time.Second), "migrate-run-pod", terminatedStep(1, "TaskRunTimeout"))
				tr.Spec.Timeout = &metav1.Duration{Duration: time.Hour}
				return tr
			}(),
			now: 96 * time.Second,
			want: v1alpha1.TaskStatus{
				ID: 7, State: "Failed", ObservedGeneration: 1, PipelineRunName: "migrate", PodName: "migrate-run-pod",
				StartTime: mt(5 * time.Second), CompletionTime: mt(95 * time.Second), Duration: &metav1.Duration{Duration: 90 * time.Second},
				FailureReason: "Task timed out after 1h0m0s",
				Conditions:    []metav1.Condition{succeeded("False", "TimedOut", "Task timed out after 1h0m0s", 96*time.Second)},
			},
		},
		{
			name: "cancelled; Tekton deleted the pod and wrote exit code 1",
			task: cancelRequested(statusTask()),
			pr: pipelineRun(cond(corev1.ConditionFalse, "Cancelled", `PipelineRun "migrate" was cancelled`),
				mt(5*time.Second), mt(40*time.Second)),
			tr: taskRun(cond(corev1.ConditionFalse, "TaskRunCancelled", `TaskRun "migrate-run" was cancelled. TaskRun cancelled as the PipelineRun it belongs to has been cancelled.`),
				mt(6*time.Second), "migrate-run-pod", terminatedStep(1, "TaskRunCancelled")),
			now: 41 * time.Second,
			want: v1alpha1.TaskStatus{
				ID: 7, State: "Cancelled", ObservedGeneration: 1, PipelineRunName: "migrate", PodName: "migrate-run-pod",
				StartTime: mt(5 * time.Second), CompletionTime: mt(40 * time.Second), Duration: &metav1.Duration{Duration: 35 * time.Second},
				FailureReason: "Task was cancelled",
				Conditions:    []metav1.Condition{succeeded("False", "Cancelled", "Task was cancelled", 41*time.Second)},
			},
		},
		{
			name: "cancel requested, PipelineRun still running",
			task: cancelRequested(statusTask()),
			pr:   runningPR,
			tr:   runningTR,
			now:  30 * time.Second,
			want: v1alpha1.TaskStatus{
				ID: 7, State: "Running", ObservedGeneration: 1, PipelineRunName: "migrate", PodName: "migrate-run-pod",
				StartTime:  mt(5 * time.Second),
				Conditions: []metav1.Condition{succeeded("Unknown", "Running", "Pod migrate-run-pod is running; cancelling", 30*time.Second)},
			},
		},
		{
			name: "cancelled before a PipelineRun was created",
			task: cancelRequested(statusTask()),
			now:  3 * time.Second,
			want: v1alpha1.TaskStatus{
				ID: 7, State: "Cancelled", ObservedGeneration: 1,
				CompletionTime: mt(3 * time.Second),
				FailureReason:  "Task was cancelled before it started",
				Conditions:     []metav1.Condition{succeeded("False", "Cancelled", "Task was cancelled before it started", 3*time.Second)},
			},
		},
		{
			name: "cancel requested after the run succeeded",
			task: cancelRequested(statusTask()),
			pr:   pipelineRun(cond(corev1.ConditionTrue, "Succeeded", "Tasks Completed: 1 (Failed: 0, Cancelled 0), Skipped: 0"), mt(5*time.Second), mt(95*time.Second)),
			tr:   taskRun(cond(corev1.ConditionTrue, "Succeeded", "All Steps have completed executing"), mt(6*time.Second), "migrate-run-pod", terminatedStep(0, "Completed")),
			now:  96 * time.Second,
			want: v1alpha1.TaskStatus{
				ID: 7, State: "Succeeded", ObservedGeneration: 1, PipelineRunName: "migrate", PodName: "migrate-run-pod",
				StartTime: mt(5 * time.Second), CompletionTime: mt(95 * time.Second), Duration: &metav1.Duration{Duration: 90 * time.Second},
				ExitCode:   new(int32(0)),
				Conditions: []metav1.Condition{succeeded("True", "Succeeded", "Task completed successfully", 96*time.Second)},
			},
		},
		{
			name: "Tekton rejected the PipelineRun",
			task: statusTask(),
			pr: pipelineRun(cond(corev1.ConditionFalse, "PipelineValidationFailed",
				`[User error] Pipeline shop/migrate can't be Run; it has an invalid spec: invalid value: 1.5: spec.tasks[0].retries`), nil, mt(time.Second)),
			now: 2 * time.Second,
			want: v1alpha1.TaskStatus{
				ID: 7, State: "Failed", ObservedGeneration: 1, PipelineRunName: "migrate",
				CompletionTime: mt(time.Second),
				FailureReason:  `[User error] Pipeline shop/migrate can't be Run; it has an invalid spec: invalid value: 1.5: spec.tasks[0].retries`,
				Conditions: []metav1.Condition{succeeded("False", "RunFailed",
					`[User error] Pipeline shop/migrate can't be Run; it has an invalid spec: invalid value: 1.5: spec.tasks[0].retries`, 2*time.Second)},
			},
		},
		{
			name: "image pull failure: the TaskRun's message",
			task: statusTask(),
			pr:   failedPR,
			tr: taskRun(cond(corev1.ConditionFalse, "TaskRunImagePullFailed", `the step "main" in TaskRun "migrate-run" failed to pull the image "registry.example.com/shop/web@sha256:abc"`),
				mt(6*time.Second), "migrate-run-pod", terminatedStep(1, "TaskRunImagePullFailed")),
			now: 96 * time.Second,
			want: v1alpha1.TaskStatus{
				ID: 7, State: "Failed", ObservedGeneration: 1, PipelineRunName: "migrate", PodName: "migrate-run-pod",
				StartTime: mt(5 * time.Second), CompletionTime: mt(95 * time.Second), Duration: &metav1.Duration{Duration: 90 * time.Second},
				ExitCode:      nil,
				FailureReason: `the step "main" in TaskRun "migrate-run" failed to pull the image "registry.example.com/shop/web@sha256:abc"`,
				Conditions: []metav1.Condition{succeeded("False", "RunFailed",
					`the step "main" in TaskRun "migrate-run" failed to pull the image "registry.example.com/shop/web@sha256:abc"`, 96*time.Second)},
			},
		},
		{
			name:     "pending expired before any PipelineRun",
			task:     statusTask(),
			now:      5 * time.Minute,
			deadline: 5 * time.Minute,
			want: v1alpha1.TaskStatus{
				ID: 7, State: "Failed", ObservedGeneration: 1,
				CompletionTime: mt(5 * time.Minute),
				FailureReason:  "Task expired in PENDING state",
				Conditions: []metav1.Condition{succeeded("False", "PendingExpired",
					"Task expired in PENDING state: its pod did not start within 5m0s of creation", 5*time.Minute)},
			},
		},
		{
			name:    "refused before any PipelineRun",
			task:    statusTask(),
			now:     time.Second,
			refusal: "spec.resolved.volumes[0].hostPath: Forbidden: no",
			want: v1alpha1.TaskStatus{
				ID: 7, State: "Failed", ObservedGeneration: 1,
				CompletionTime: mt(time.Second),
				FailureReason:  "Task refused: spec.resolved.volumes[0].hostPath: Forbidden: no",
				Conditions: []metav1.Condition{succeeded("False", "Refused",
					"Task refused: spec.resolved.volumes[0].hostPath: Forbidden: no", time.Second)},
			},
		},
		{
			// A policy tightened after the run started does not end it.
			name:    "refusal of a started run",
			task:    statusTask(),
			pr:      pipelineRun(nil, nil, nil),
			now:     2 * time.Second,
			refusal: "spec.resolved.securityContext.privileged: Forbidden: no",
			want: v1alpha1.TaskStatus{
				ID: 7, State: "Pending", ObservedGeneration: 1, PipelineRunName: "migrate",
				Conditions: []metav1.Condition{succeeded("Unknown", "Pending", "Waiting for the pod to start", 2*time.Second)},
			},
		},
		{
			name:     "pending expired with the pod unschedulable",
			task:     statusTask(),
			pr:       runningPR,
			tr:       pendingTR,
			now:      6 * time.Minute,
			deadline: 5 * time.Minute,
			want: v1alpha1.TaskStatus{
				ID: 7, State: "Failed", ObservedGeneration: 1, PipelineRunName: "migrate", PodName: "migrate-run-pod",
				StartTime: mt(5 * time.Second), CompletionTime: mt(6 * time.Minute), Duration: &metav1.Duration{Duration: 6*time.Minute - 5*time.Second},
				FailureReason: "Task expired in PENDING state",
				Conditions: []metav1.Condition{succeeded("False", "PendingExpired",
					"Task expired in PENDING state: its pod did not start within 5m0s of creation", 6*time.Minute)},
			},
		},
		{
			name:     "pending within the deadline",
			task:     statusTask(),
			now:      5*time.Minute - time.Second,
			deadline: 5 * time.Minute,
			want: v1alpha1.TaskStatus{
				ID: 7, State: "Pending", ObservedGeneration: 1,
				Conditions: []metav1.Condition{succeeded("Unknown", "Pending", "Waiting for the PipelineRun to be created", 5*time.Minute-time.Second)},
			},
		},
		{
			name: "no deadline never expires",
			task: statusTask(),
			now:  1000 * time.Hour,
			want: v1alpha1.TaskStatus{
				ID: 7, State: "Pending", ObservedGeneration: 1,
				Conditions: []metav1.Condition{succeeded("Unknown", "Pending", "Waiting for the PipelineRun to be created", 1000*time.Hour)},
			},
		},
		{
			name:     "a retry waiting for its pod is Pending, not expired, and its old step does not count",
			task:     statusTask(),
			pr:       runningPR,
			tr:       retryingTR,
			now:      10 * time.Minute,
			deadline: 5 * time.Minute,
			want: v1alpha1.TaskStatus{
				ID: 7, State: "Pending", ObservedGeneration: 1, PipelineRunName: "migrate", PodName: "migrate-run-pod-retry1",
				Conditions: []metav1.Condition{succeeded("Unknown", "Pending", "Waiting for the pod to start", 10*time.Minute)},
			},
		},
		{
			name: "a retry keeps the start the Task showed while running",
			task: runningTask(),
			pr:   runningPR,
			tr:   retryingTR,
			now:  2 * time.Minute,
			want: v1alpha1.TaskStatus{
				ID: 7, State: "Pending", ObservedGeneration: 1, PipelineRunName: "migrate", PodName: "migrate-run-pod-retry1",
				StartTime:  mt(5 * time.Second),
				Conditions: []metav1.Condition{succeeded("Unknown", "Pending", "Waiting for the pod to start", 30*time.Second)},
			},
		},
		{
			name: "PipelineRun deleted while running: not run again",
			task: runningTask(),
			now:  time.Minute,
			want: v1alpha1.TaskStatus{
				ID: 7, State: "Failed", ObservedGeneration: 1, PodName: "migrate-run-pod",
				StartTime: mt(5 * time.Second), CompletionTime: mt(time.Minute), Duration: &metav1.Duration{Duration: 55 * time.Second},
				FailureReason: "PipelineRun migrate was deleted before it finished",
				Conditions:    []metav1.Condition{succeeded("False", "RunFailed", "PipelineRun migrate was deleted before it finished", time.Minute)},
			},
		},
		{
			name: "PipelineRun deleted after a cancel request",
			task: cancelRequested(withStatus(statusTask(), v1alpha1.TaskStatus{ID: 7, State: "Running", ObservedGeneration: 1, PipelineRunName: "migrate",
				StartTime:  mt(5 * time.Second),
				Conditions: []metav1.Condition{succeeded("Unknown", "Running", "Pod migrate-run-pod is running", 30*time.Second)}})),
			now: time.Minute,
			want: v1alpha1.TaskStatus{
				ID: 7, State: "Cancelled", ObservedGeneration: 1,
				StartTime: mt(5 * time.Second), CompletionTime: mt(time.Minute), Duration: &metav1.Duration{Duration: 55 * time.Second},
				FailureReason: "Task was cancelled",
				Conditions:    []metav1.Condition{succeeded("False", "Cancelled", "Task was cancelled", time.Minute)},
			},
		},
		{
			name: "long Tekton messages are cut to the API's limits",
			task: statusTask(),
			pr:   pipelineRun(cond(corev1.ConditionFalse, "CouldntGetPipeline", longMessage), nil, mt(time.Second)),
			now:  2 * time.Second,
			want: v1alpha1.TaskStatus{
				ID: 7, State: "Failed", ObservedGeneration: 1, PipelineRunName: "migrate",
				CompletionTime: mt(time.Second),
				FailureReason:  strings.Repeat("x", 1023) + "…",
				Conditions:     []metav1.Condition{succeeded("False", "RunFailed", longMessage, 2*time.Second)},
			},
		},
		{
			name: "Tekton failure without a message",
			task: statusTask(),
			pr:   pipelineRun(cond(corev1.ConditionFalse, "CreateRunFailed", ""), mt(time.Second), mt(2*time.Second)),
			now:  3 * time.Second,
			want: v1alpha1.TaskStatus{
				ID: 7, State: "Failed", ObservedGeneration: 1, PipelineRunName: "migrate",
				StartTime: mt(time.Second), CompletionTime: mt(2 * time.Second), Duration: &metav1.Duration{Duration: time.Second},
				FailureReason: "Tekton reported CreateRunFailed",
				Conditions:    []metav1.Condition{succeeded("False", "RunFailed", "Tekton reported CreateRunFailed", 3*time.Second)},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := tt.task.DeepCopy()
			got := ComputeTaskStatus(StatusInput{Task: tt.task, ID: tt.id, PipelineRun: tt.pr, TaskRun: tt.tr, Now: at(tt.now), PendingDeadline: tt.deadline, Refusal: tt.refusal, CreateError: tt.createError})
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ComputeTaskStatus() mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(before, tt.task); diff != "" {
				t.Errorf("ComputeTaskStatus() modified its input (-before +after):\n%s", diff)
			}
			// The manager caches runs stripped to what status reads.
			pr, tr := stripped(t, tt.pr, tt.tr)
			cached := ComputeTaskStatus(StatusInput{Task: tt.task, ID: tt.id, PipelineRun: pr, TaskRun: tr, Now: at(tt.now), PendingDeadline: tt.deadline, Refusal: tt.refusal, CreateError: tt.createError})
			if diff := cmp.Diff(got, cached); diff != "" {
				t.Errorf("ComputeTaskStatus() differs on cached runs (-full +cached):\n%s", diff)
			}
		})
	}
}

func stripped(t *testing.T, pr *pipelinev1.PipelineRun, tr *pipelinev1.TaskRun) (*pipelinev1.PipelineRun, *pipelinev1.TaskRun) {
	t.Helper()
	var spr *pipelinev1.PipelineRun
	var str *pipelinev1.TaskRun
	if pr != nil {
		out, err := PipelineRunFacts(pr.DeepCopy())
		if err != nil {
			t.Fatal(err)
		}
		spr = out.(*pipelinev1.PipelineRun)
	}
	if tr != nil {
		out, err := TaskRunFacts(tr.DeepCopy())
		if err != nil {
			t.Fatal(err)
		}
		str = out.(*pipelinev1.TaskRun)
	}
	return spr, str
}

func TestComputeTaskStatusFinishedStaysFinished(t *testing.T) {
	finished := v1alpha1.TaskStatus{
		ID: 7, State: "Succeeded", ObservedGeneration: 1, PipelineRunName: "migrate", PodName: "migrate-run-pod",
		StartTime: mt(5 * time.Second), CompletionTime: mt(95 * time.Second), Duration: &metav1.Duration{Duration: 90 * time.Second},
		ExitCode:   new(int32(0)),
		Conditions: []metav1.Condition{succeeded("True", "Succeeded", "Task completed successfully", 96*time.Second)},
	}
	// Generation 2: someone shortened ttlSecondsAfterFinished, then the
	// PipelineRun was deleted or reads as cancelled.
	task := cancelRequested(withStatus(statusTask(), finished))
	task.Generation = 2
	cancelledPR := pipelineRun(cond(corev1.ConditionFalse, "Cancelled", "cancelled"), mt(time.Second), mt(time.Hour))

	want := *finished.DeepCopy()
	want.ObservedGeneration = 2
	want.Conditions[0].ObservedGeneration = 2
	for _, pr := range []*pipelinev1.PipelineRun{nil, cancelledPR} {
		got := ComputeTaskStatus(StatusInput{Task: task, PipelineRun: pr, Now: at(2 * time.Hour), PendingDeadline: time.Minute})
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("ComputeTaskStatus() mismatch (-want +got):\n%s", diff)
		}
	}
	if task.Status.ObservedGeneration != 1 || task.Status.Conditions[0].ObservedGeneration != 1 {
		t.Errorf("ComputeTaskStatus() modified the Task's status")
	}
}

func TestComputeTaskStatusLastTransitionTime(t *testing.T) {
	task := statusTask()
	pr := pipelineRun(cond(corev1.ConditionUnknown, "Running", ""), mt(5*time.Second), nil)
	tr := taskRun(cond(corev1.ConditionUnknown, "Running", ""), mt(6*time.Second), "migrate-run-pod", runningStep())

	// Each pass reads back what the previous one wrote.
	task.Status = ComputeTaskStatus(StatusInput{Task: task, PipelineRun: pr, TaskRun: tr, Now: at(30*time.Second + 400*time.Millisecond)})
	first := task.Status.DeepCopy()
	if got, want := first.Conditions[0].LastTransitionTime, metav1.NewTime(at(30*time.Second)); !got.Equal(&want) {
		t.Fatalf("first lastTransitionTime = %v, want %v (truncated to seconds)", got, want)
	}
	task.Status = ComputeTaskStatus(StatusInput{Task: task, PipelineRun: pr, TaskRun: tr, Now: at(time.Minute)})
	if diff := cmp.Diff(first, &task.Status); diff != "" {
		t.Errorf("unchanged run changed the status (-first +second):\n%s", diff)
	}

	pr = pipelineRun(cond(corev1.ConditionTrue, "Succeeded", ""), mt(5*time.Second), mt(90*time.Second))
	task.Status = ComputeTaskStatus(StatusInput{Task: task, PipelineRun: pr, TaskRun: tr, Now: at(2 * time.Minute)})
	if got, want := task.Status.Conditions[0].LastTransitionTime, metav1.NewTime(at(2*time.Minute)); !got.Equal(&want) {
		t.Errorf("lastTransitionTime after success = %v, want %v", got, want)
	}
}

func TestComputeTaskStatusKeepsOtherConditions(t *testing.T) {
	other := metav1.Condition{Type: "Audited", Status: "True", Reason: "PolicyApplied", LastTransitionTime: metav1.NewTime(created)}
	task := withStatus(statusTask(), v1alpha1.TaskStatus{ID: 7, Conditions: []metav1.Condition{other}})
	got := ComputeTaskStatus(StatusInput{Task: task, Now: at(time.Second)})
	want := []metav1.Condition{other, succeeded("Unknown", "Pending", "Waiting for the PipelineRun to be created", time.Second)}
	if diff := cmp.Diff(want, got.Conditions); diff != "" {
		t.Errorf("conditions mismatch (-want +got):\n%s", diff)
	}
}

func TestShouldCancel(t *testing.T) {
	running := pipelineRun(cond(corev1.ConditionUnknown, "Running", ""), mt(time.Second), nil)
	cancelling := running.DeepCopy()
	cancelling.Spec.Status = pipelinev1.PipelineRunSpecStatusCancelled
	done := pipelineRun(cond(corev1.ConditionTrue, "Succeeded", ""), mt(time.Second), mt(time.Minute))
	expired := withStatus(statusTask(), v1alpha1.TaskStatus{State: v1alpha1.TaskStateFailed})

	tests := []struct {
		name string
		task *v1alpha1.Task
		pr   *pipelinev1.PipelineRun
		want bool
	}{
		{"running, no request", statusTask(), running, false},
		{"cancel requested", cancelRequested(statusTask()), running, true},
		{"pending deadline expired", expired, running, true},
		{"already cancelled", cancelRequested(statusTask()), cancelling, false},
		{"already done", cancelRequested(statusTask()), done, false},
		{"no PipelineRun", cancelRequested(statusTask()), nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ShouldCancel(tt.task, tt.pr); got != tt.want {
				t.Errorf("ShouldCancel() = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestPendingDeadlineIn(t *testing.T) {
	pending := withStatus(statusTask(), v1alpha1.TaskStatus{State: v1alpha1.TaskStatePending})
	running := withStatus(statusTask(), v1alpha1.TaskStatus{State: v1alpha1.TaskStateRunning})
	tests := []struct {
		name     string
		task     *v1alpha1.Task
		now      time.Duration
		deadline time.Duration
		want     time.Duration
		wantOK   bool
	}{
		{"pending", pending, time.Minute, 5 * time.Minute, 4 * time.Minute, true},
		{"pending past the deadline", pending, 6 * time.Minute, 5 * time.Minute, 0, true},
		{"no deadline", pending, time.Minute, 0, 0, false},
		{"running", running, time.Minute, 5 * time.Minute, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := PendingDeadlineIn(tt.task, at(tt.now), tt.deadline)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("PendingDeadlineIn() = %v, %v; want %v, %v", got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestTaskRunName(t *testing.T) {
	pr := pipelineRun(nil, mt(time.Second), nil)
	if got := TaskRunName(pr); got != "migrate-run" {
		t.Errorf("TaskRunName() = %q, want migrate-run", got)
	}
	pr.Status.ChildReferences[0].Kind = "CustomRun"
	if got := TaskRunName(pr); got != "" {
		t.Errorf("TaskRunName() of a CustomRun = %q, want empty", got)
	}
	if got := TaskRunName(pipelineRun(nil, nil, nil)); got != "" {
		t.Errorf("TaskRunName() before Tekton started = %q, want empty", got)
	}
	if got := TaskRunName(nil); got != "" {
		t.Errorf("TaskRunName(nil) = %q, want empty", got)
	}
}

func TestImageUserHint(t *testing.T) {
	const set = "set the App's spec.securityContext.runAsUser (or spec.podSecurityContext.runAsUser) to "
	for _, tc := range []struct {
		name, message, want string
	}{
		{
			name:    "image runs as root",
			message: `the step "main" in TaskRun "migrate-run" failed to start. The pod errored with the message: "container has runAsNonRoot and image will run as root (pod: "migrate-run-pod_shop(0b1c)", container: step-main)."`,
			want: "The image runs as root, and Tasks run as non-root unless their App says otherwise: " + set +
				"a non-zero UID the image can run as, or build the image with a numeric non-root USER",
		},
		{
			name:    "image names its user",
			message: `the step "main" in TaskRun "migrate-run" failed to start. The pod errored with the message: "container has runAsNonRoot and image has non-numeric user (cnb), cannot verify user is non-root (pod: "migrate-run-pod_shop(0b1c)", container: step-main)."`,
			want: "The image names its user (cnb), and Kubernetes cannot check that a name is non-root: " + set +
				"that user's UID, or build the image with a numeric USER",
		},
		{
			name:    "another start failure",
			message: `the step "main" in TaskRun "migrate-run" failed to start. The pod errored with the message: "secret \"shop-db\" not found."`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := imageUserHint(tc.message); got != tc.want {
				t.Fatalf("imageUserHint() = %q, want %q", got, tc.want)
			}
		})
	}
}
