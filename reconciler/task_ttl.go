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

// expire deletes a finished Task once the TTL in force (its status's,
// see CompletionTTL) has passed, the way the in-tree TTL-after-finished
// controller treats Jobs: requeue at expiry, read fresh, check again,
// delete with a UID precondition.
func (r *TaskReconciler) expire(ctx context.Context, task *v1alpha1.Task) (ctrl.Result, error) {
	ttl := task.Status.TTLSecondsAfterFinished
	if ttl == nil {
		// Finished under a manager whose status had no TTL; this
		// reconcile's status write gave it one if it has one.
		ttl = task.Spec.TTLSecondsAfterFinished
	}
	if ttl == nil {
		return ctrl.Result{}, nil
	}
	if left := remaining(*ttl, finishedAt(&task.Status), r.Clock.Now()); left > 0 {
		return ctrl.Result{RequeueAfter: left}, nil
	}
	// The cache may be stale: the TTL may have been raised, the policy
	// changed, or the Task replaced by another of the same name.
	fresh := &v1alpha1.Task{}
	if err := r.APIReader.Get(ctx, client.ObjectKeyFromObject(task), fresh); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !fresh.Status.State.IsFinished() {
		return ctrl.Result{}, nil
	}
	nsLabels, err := r.Namespaces.Get(ctx, fresh.Namespace)
	if err != nil {
		return ctrl.Result{}, err
	}
	ttl, _ = CompletionTTL(r.Policy.Current(), fresh, &fresh.Status, nsLabels, r.Clock.Now())
	if ttl == nil {
		return ctrl.Result{}, nil
	}
	if left := remaining(*ttl, finishedAt(&fresh.Status), r.Clock.Now()); left > 0 {
		return ctrl.Result{RequeueAfter: left}, nil
	}
	if err := DeleteTask(ctx, r.Client, fresh); err != nil {
		return ctrl.Result{}, err
	}
	ctrl.LoggerFrom(ctx).Info("Deleted expired Task", "Task", klog.KObj(fresh), "ttlSecondsAfterFinished", *ttl)
	if r.Deleted != nil {
		r.Deleted(DeleteReasonTTL)
	}
	return ctrl.Result{}, nil
}

// CompletionTTL returns the TTL in force for a Task that finished as final
// says (its state and finish time), in a namespace labelled nsLabels, and
// the completion-time TTL policy's decision that set it: what p's rule for
// the outcome makes of the spec's TTL, or the spec's TTL and "" when the
// decision writes none (no rule, exempt, the author's own TTL, audit mode,
// or a rule no shorter).
//
// The decision is made again on every reconcile, so that a changed spec
// TTL or policy shows; task.Status holds the one in force so far. A late
// decision's grace floor counts from now and would move the TTL on with
// every reconcile, past its expiry: a TTL in force that it would not
// shorten stays, with its decision.
func CompletionTTL(p *policy.Policy, task *v1alpha1.Task, final *v1alpha1.TaskStatus, nsLabels map[string]string, now time.Time) (*int32, string) {
	result := policy.ResultFailed
	if final.State == v1alpha1.TaskStateSucceeded {
		result = policy.ResultSucceeded
	}
	// The namespace's labels, as admission read them: a namespace opted out
	// is exempt, and namespaceSelector rules match, at completion too.
	f := facts.Object(policy.KindTask, &task.ObjectMeta, nsLabels, task.Spec.TTLSecondsAfterFinished)
	d := p.CompletionTTL(f, policy.Completion{Result: result, FinishedAt: finishedAt(final), Now: now})
	ttl, ok := d.WriteTTL()
	if !ok {
		return copyTTL(task.Spec.TTLSecondsAfterFinished), ""
	}
	if was := task.Status.TTLSecondsAfterFinished; d.Bound == policy.BoundCompletionGraceSeconds &&
		task.Status.TTLDecision != "" && was != nil && *was <= ttl {
		return copyTTL(was), task.Status.TTLDecision
	}
	return ptr.To(ttl), d.Annotations()[policy.AnnotationDecision]
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

func copyTTL(ttl *int32) *int32 {
	if ttl == nil {
		return nil
	}
	return ptr.To(*ttl)
}

// remaining is how long a Task that finished at finishedAt has left to
// live with ttl.
func remaining(ttl int32, finishedAt, now time.Time) time.Duration {
	return finishedAt.Add(time.Duration(ttl) * time.Second).Sub(now)
}
