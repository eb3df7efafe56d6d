package reconciler

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/recorder"

	"github.com/taskgate/taskgate/api/v1alpha1"
	"github.com/taskgate/taskgate/schedule"
)

// +kubebuilder:rbac:groups=taskgate.dev,resources=taskschedules,verbs=get;list;watch
// +kubebuilder:rbac:groups=taskgate.dev,resources=taskschedules/status,verbs=patch
// Tasks: created at each tick, and patched to cancel one that
// concurrencyPolicy Replace replaces (spec.desiredState).
// +kubebuilder:rbac:groups=taskgate.dev,resources=tasks,verbs=create;patch

// TaskScheduleReconciler starts a schedule's Task at each tick and
// mirrors the schedule's Tasks into its status. It wakes at the next tick
// (RequeueAfter) and whenever one of its Tasks changes; it never polls.
// The Tasks it creates are admitted like anyone's: the schedule's writer
// was checked, when the schedule was admitted, for what creating them
// needs.
type TaskScheduleReconciler struct {
	Client client.Client
	// APIReader reads the schedule fresh: a pass that read the cache's
	// copy from before the last status write would take a started tick
	// for due.
	APIReader client.Reader
	Recorder  recorder.EventRecorder
	Clock     clock.PassiveClock
}

// Reconcile runs one pass over a schedule: decide, act, write status.
func (r *TaskScheduleReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	ts := &v1alpha1.TaskSchedule{}
	if err := r.APIReader.Get(ctx, req.NamespacedName, ts); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !ts.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, nil
	}
	before := ts.DeepCopy()
	var tasks v1alpha1.TaskList
	if err := r.Client.List(ctx, &tasks, client.InNamespace(ts.Namespace), client.MatchingLabels{v1alpha1.LabelSchedule: ts.Name}); err != nil {
		return ctrl.Result{}, fmt.Errorf("listing Tasks of TaskSchedule %s: %w", req.NamespacedName, err)
	}
	owned := ownedTasks(ts, tasks.Items)
	now := r.Clock.Now()
	result, runErr := r.tick(ctx, ts, owned, now)
	setTaskScheduleStatus(ts, owned, result, runErr)
	if !equality.Semantic.DeepEqual(before.Status, ts.Status) {
		if err := r.Client.Status().Patch(ctx, ts, client.MergeFrom(before)); err != nil {
			return ctrl.Result{}, fmt.Errorf("writing status of TaskSchedule %s: %w", req.NamespacedName, err)
		}
	}
	if runErr != nil {
		return ctrl.Result{}, runErr
	}
	if result.next.IsZero() {
		return ctrl.Result{}, nil
	}
	// A little past the tick, so the clock has reached it when we wake.
	return ctrl.Result{RequeueAfter: result.next.Sub(now) + 100*time.Millisecond}, nil
}

// tickResult is what one pass did, for the status.
type tickResult struct {
	invalid error
	started string
	next    time.Time
}

// tick decides with package schedule and carries the decision out: Events
// for a skipped tick and for too many missed ones, cancels for Replace,
// then the tick's Task.
func (r *TaskScheduleReconciler) tick(ctx context.Context, ts *v1alpha1.TaskSchedule, owned []*v1alpha1.Task, now time.Time) (tickResult, error) {
	sched, err := schedule.Parse(ts.Spec.Schedule, ts.Spec.TimeZone)
	if err != nil {
		// Admission refuses it; a schedule from before a stricter rule
		// waits for a fix.
		return tickResult{invalid: err}, nil
	}
	last := ts.CreationTimestamp.Time
	if ts.Status.LastScheduleTime != nil {
		last = ts.Status.LastScheduleTime.Time
	}
	var names, active []string
	for _, t := range owned {
		names = append(names, t.Name)
		if !t.Status.State.IsFinished() {
			active = append(active, t.Name)
		}
	}
	d := schedule.Decide(schedule.Facts{
		Schedule: sched, Last: last, Deadline: ts.Spec.StartingDeadlineSeconds,
		Suspended: ptrTrue(ts.Spec.Suspend), Concurrency: ts.Spec.ConcurrencyPolicy, Active: active,
		Name: ts.Name, Tasks: names, Now: now,
	})
	res := tickResult{next: d.Next}
	if !d.Started.IsZero() {
		ts.Status.LastScheduleTime = timePtr(d.Started)
	}
	if d.TooManyMissed {
		r.Recorder.Eventf(ts, nil, corev1.EventTypeWarning, "TooManyMissedTicks", "Schedule",
			"More than %d ticks were missed (was the manager down, or did the clock jump?); at most the most recent starts; "+
				"set spec.startingDeadlineSeconds to count only recent ticks", schedule.MaxMissed)
	}
	if !d.Skipped.IsZero() {
		r.Recorder.Eventf(ts, nil, corev1.EventTypeNormal, "Skipped", "Schedule",
			"Not starting the Task of the tick at %s: concurrencyPolicy is Forbid and Task %s has not finished",
			d.Skipped.UTC().Format(time.RFC3339), active[0])
	}
	for _, name := range d.Cancel {
		if err := r.cancel(ctx, ts, owned, name); err != nil {
			return res, err
		}
	}
	if d.Start.IsZero() {
		return res, nil
	}
	task := schedule.NewTask(ts, schedule.TaskName(ts.Name, d.Start))
	switch err := r.Client.Create(ctx, task); {
	case apierrors.IsAlreadyExists(err):
		// This tick's Task, created by a pass whose status write the
		// cache has not shown yet.
	case err != nil:
		r.Recorder.Eventf(ts, nil, corev1.EventTypeWarning, "FailedCreate", "Schedule",
			"Creating Task %s for the tick at %s: %v", task.Name, d.Start.UTC().Format(time.RFC3339), err)
		return res, fmt.Errorf("creating Task %s: %w", klog.KObj(task), err)
	default:
		log.FromContext(ctx).Info("Started scheduled Task", "TaskSchedule", klog.KObj(ts), "Task", klog.KObj(task), "tick", d.Start)
		r.Recorder.Eventf(ts, task, corev1.EventTypeNormal, "Started", "Schedule",
			"Started Task %s for the tick at %s", task.Name, d.Start.UTC().Format(time.RFC3339))
		res.started = task.Name
	}
	ts.Status.LastScheduleTime = timePtr(d.Start)
	return res, nil
}

// cancel asks an active Task to stop, as kubectl task terminate does.
func (r *TaskScheduleReconciler) cancel(ctx context.Context, ts *v1alpha1.TaskSchedule, owned []*v1alpha1.Task, name string) error {
	for _, t := range owned {
		if t.Name != name || t.Spec.DesiredState == v1alpha1.DesiredStateCancelled {
			continue
		}
		patch := []byte(`{"spec":{"desiredState":"Cancelled"}}`)
		if err := r.Client.Patch(ctx, t, client.RawPatch(types.MergePatchType, patch)); client.IgnoreNotFound(err) != nil {
			return fmt.Errorf("cancelling Task %s: %w", klog.KObj(t), err)
		}
		r.Recorder.Eventf(ts, t, corev1.EventTypeNormal, "Replaced", "Schedule",
			"Cancelled Task %s: concurrencyPolicy is Replace and a new tick is due", t.Name)
	}
	return nil
}

// SetupWithManager watches schedules, by spec change, and the Tasks they
// own, by any change.
func (r *TaskScheduleReconciler) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		Named("taskschedule").
		For(&v1alpha1.TaskSchedule{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Owns(&v1alpha1.Task{}).
		Complete(r)
}
