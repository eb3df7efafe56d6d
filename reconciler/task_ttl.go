package reconciler

import (
	"context"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/taskgate/taskgate/api/v1alpha1"
	"github.com/taskgate/taskgate/facts"
	"github.com/taskgate/taskgate/policy"
)

// Reasons a Task is deleted, for the taskgate_tasks_deleted_total metric.
const (
	DeleteReasonTTL = "ttl"
	DeleteReasonCap = "cap"
)

// expire applies the completion-time TTL policy to a finished Task and
// deletes it once its TTL has passed, the way the in-tree
// TTL-after-finished controller treats Jobs: requeue at expiry, read
// fresh, check again, delete with a UID precondition.
func (r *TaskReconciler) expire(ctx context.Context, task *v1alpha1.Task) (ctrl.Result, error) {
	done := finishedAt(&task.Status)
	if err := r.applyCompletionTTL(ctx, task, &task.Status); err != nil {
		return ctrl.Result{}, err
	}
	if task.Spec.TTLSecondsAfterFinished == nil {
		return ctrl.Result{}, nil
	}
	if left := remaining(task, done, r.Clock.Now()); left > 0 {
		return ctrl.Result{RequeueAfter: left}, nil
	}
	// The cache may be stale: the TTL may have been raised or the Task
	// replaced by another of the same name.
	fresh := &v1alpha1.Task{}
	if err := r.APIReader.Get(ctx, client.ObjectKeyFromObject(task), fresh); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !fresh.Status.State.IsFinished() || fresh.Spec.TTLSecondsAfterFinished == nil {
		return ctrl.Result{}, nil
	}
	if left := remaining(fresh, finishedAt(&fresh.Status), r.Clock.Now()); left > 0 {
		return ctrl.Result{RequeueAfter: left}, nil
	}
	if err := DeleteTask(ctx, r.Client, fresh); err != nil {
		return ctrl.Result{}, err
	}
	ctrl.LoggerFrom(ctx).Info("Deleted expired Task", "Task", klog.KObj(fresh), "ttlSecondsAfterFinished", *fresh.Spec.TTLSecondsAfterFinished)
	if r.Deleted != nil {
		r.Deleted(DeleteReasonTTL)
	}
	return ctrl.Result{}, nil
}

// applyCompletionTTL shortens the Task's TTL when a completion-time rule
// for its outcome, in status (final, or about to be written), says so, or
// gives it one when it has none.
func (r *TaskReconciler) applyCompletionTTL(ctx context.Context, task *v1alpha1.Task, status *v1alpha1.TaskStatus) error {
	result := policy.ResultFailed
	if status.State == v1alpha1.TaskStateSucceeded {
		result = policy.ResultSucceeded
	}
	// No namespace labels: this decision has never read them, and reading
	// them now would change which rules match a finished Task.
	f := facts.Object(policy.KindTask, &task.ObjectMeta, nil, task.Spec.TTLSecondsAfterFinished)
	d := r.Policy.Current().CompletionTTL(f, policy.Completion{Result: result, FinishedAt: finishedAt(status), Now: r.Clock.Now()})
	ttl, ok := d.WriteTTL()
	if !ok || task.Spec.TTLSecondsAfterFinished != nil && *task.Spec.TTLSecondsAfterFinished == ttl {
		return nil
	}
	before := task.DeepCopy()
	task.Spec.TTLSecondsAfterFinished = ptr.To(ttl)
	for k, v := range d.Annotations() {
		metav1.SetMetaDataAnnotation(&task.ObjectMeta, k, v)
	}
	if err := r.Client.Patch(ctx, task, client.MergeFrom(before)); err != nil {
		return fmt.Errorf("setting completion TTL: %w", err)
	}
	return nil
}

// DeleteTask deletes a Task that was just read from the API server, only
// if it is still that Task, and lets the garbage collector take its
// PipelineRun, TaskRun and pod, and with them its logs.
func DeleteTask(ctx context.Context, c client.Client, task *v1alpha1.Task) error {
	err := c.Delete(ctx, task, client.Preconditions{UID: &task.UID}, client.PropagationPolicy(metav1.DeletePropagationBackground))
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		return fmt.Errorf("deleting Task %s: %w", types.NamespacedName{Namespace: task.Namespace, Name: task.Name}, err)
	}
	return nil
}

// finishedAt is when a finished Task's TTL clock started: when its
// Succeeded condition became final, as the TTL controller counts for Jobs.
func finishedAt(status *v1alpha1.TaskStatus) time.Time {
	if c := meta.FindStatusCondition(status.Conditions, v1alpha1.ConditionSucceeded); c != nil {
		return c.LastTransitionTime.Time
	}
	if status.CompletionTime != nil {
		return status.CompletionTime.Time
	}
	return time.Time{}
}

func remaining(task *v1alpha1.Task, finishedAt, now time.Time) time.Duration {
	expiry := finishedAt.Add(time.Duration(*task.Spec.TTLSecondsAfterFinished) * time.Second)
	return expiry.Sub(now)
}
