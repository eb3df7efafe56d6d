package reconciler

import (
	"context"
	"errors"
	"fmt"
	"time"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/recorder"

	"github.com/taskgate/taskgate/api/v1alpha1"
	"github.com/taskgate/taskgate/facts"
	"github.com/taskgate/taskgate/policy"
)

// TaskReconciler runs each Task as a Tekton PipelineRun: it gives the Task
// its per-app ID, creates the PipelineRun once, mirrors its status, cancels
// it on request and deletes the Task when its TTL expires.
type TaskReconciler struct {
	Client client.Client
	// APIReader reads from the API server, not the cache, before a delete.
	APIReader client.Reader
	Policy    facts.PolicySource
	Recorder  recorder.EventRecorder
	Clock     clock.PassiveClock
	// Namespaces gives a Task's namespace labels, which a finished Task's
	// TTL decision matches as admission's did; nil matches none by label.
	Namespaces facts.NamespaceLabels
	// Deleted, when set, is told of every Task deleted, with the reason
	// ("ttl" or "cap"), for metrics.
	Deleted func(reason string)
	// Workers is how many Tasks are reconciled at once. IDs stay
	// gap-free: an App's are taken by one worker at a time, under
	// optimistic concurrency.
	Workers int

	ids     appIDs
	written writtenTasks
}

// Tasks: watched and read, never written; deleted when their TTL or the
// cap says so (task_ttl.go).
// Status: patched with the outcome, the ID and the TTL in force.
// Finalizers: update is what OwnerReferencesPermissionEnforcement asks of
// whoever sets blockOwnerDeletion on a PipelineRun owned by a Task.
// +kubebuilder:rbac:groups=taskgate.dev,resources=tasks,verbs=get;list;watch;delete
// +kubebuilder:rbac:groups=taskgate.dev,resources=tasks/status,verbs=patch
// +kubebuilder:rbac:groups=taskgate.dev,resources=tasks/finalizers,verbs=update
// App status: the next Task ID is taken with an optimistic-lock update
// (task_id.go).
// +kubebuilder:rbac:groups=taskgate.dev,resources=apps/status,verbs=update
// PipelineRuns: created once per Task, read live on a cache miss, patched
// to cancel and to label as recorded. TaskRuns: watched for the pod's
// exit, patched to label as recorded; taskgate never creates one.
// +kubebuilder:rbac:groups=tekton.dev,resources=pipelineruns,verbs=get;list;watch;create;patch
// +kubebuilder:rbac:groups=tekton.dev,resources=taskruns,verbs=get;list;watch;patch

// Reconcile brings one Task a step closer to done.
func (r *TaskReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	task := &v1alpha1.Task{}
	if err := r.Client.Get(ctx, req.NamespacedName, task); err != nil {
		if apierrors.IsNotFound(err) {
			r.written.forget(req.NamespacedName)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !task.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, nil
	}
	if wait := r.written.behind(task, r.Clock.Now()); wait > 0 {
		return ctrl.Result{RequeueAfter: wait}, nil
	}
	id, err := r.ensureID(ctx, task)
	if err != nil {
		return ctrl.Result{}, err
	}
	in, err := r.ensureRun(ctx, task, id)
	if err != nil {
		return ctrl.Result{}, r.reportRunError(ctx, task, id, err)
	}
	if err := r.updateStatus(ctx, task, in); err != nil {
		return ctrl.Result{}, err
	}
	pr, tr := in.PipelineRun, in.TaskRun
	if ShouldCancel(task, pr) {
		if err := r.cancel(ctx, task, pr); err != nil {
			return ctrl.Result{}, err
		}
	}
	if task.Status.State.IsFinished() {
		if err := r.recordRuns(ctx, pr, tr); err != nil {
			return ctrl.Result{}, err
		}
		return r.expire(ctx, task)
	}
	if wait, ok := PendingDeadlineIn(task, r.Clock.Now(), r.pendingDeadline()); ok {
		return ctrl.Result{RequeueAfter: wait}, nil
	}
	return ctrl.Result{}, nil
}

// ensureRun creates the Task's PipelineRun once and returns what the
// Task's status is computed from: the PipelineRun and its TaskRun, either
// nil while they do not exist, and, for a Task yet to run, why it must
// not, if it must not.
func (r *TaskReconciler) ensureRun(ctx context.Context, task *v1alpha1.Task, id int64) (StatusInput, error) {
	in := StatusInput{ID: id}
	pr, err := r.getRun(ctx, task)
	if err != nil {
		return in, err
	}
	if pr == nil {
		// Never twice: a PipelineRun that existed and is gone ended the
		// run, and running the command again (a migration, say) is not
		// ours to decide. Nor for a finished Task.
		if task.Status.PipelineRunName != "" || task.Status.State.IsFinished() {
			return in, nil
		}
		// Only a Task yet to run can be refused (see classify), and a
		// refused one fails even if it was cancelled first.
		if in.Refusal, err = r.runRefusal(ctx, task); err != nil || in.Refusal != "" ||
			task.Spec.DesiredState == v1alpha1.DesiredStateCancelled {
			return in, err
		}
		in.PipelineRun, err = r.createRun(ctx, task, id)
		return in, err
	}
	in.PipelineRun = pr
	name := TaskRunName(pr)
	if name == "" {
		return in, nil
	}
	// The PipelineRun names a TaskRun the cache has not caught up with,
	// or one it still shows going after the PipelineRun ended (Tekton
	// ends the TaskRun first; the TaskRun's watch can lag, after an API
	// server restart say). A finished Task's status is written once, so
	// its pod and exit code are read live rather than lost. Once written,
	// they are not read again, and a recorded TaskRun is out of the cache.
	in.TaskRun, err = readRun(ctx, r, task, name, func(tr *pipelinev1.TaskRun, err error) bool {
		return apierrors.IsNotFound(err) || (err == nil && pr.IsDone() && !tr.IsDone())
	})
	if err != nil {
		return in, fmt.Errorf("reading TaskRun: %w", err)
	}
	return in, nil
}

// getRun returns the Task's PipelineRun, or nil when there is none. The
// cache lags behind creates, this manager's own included, and a run the
// Task has seen that is gone ends the Task as failed: so only a live read
// says it is gone.
func (r *TaskReconciler) getRun(ctx context.Context, task *v1alpha1.Task) (*pipelinev1.PipelineRun, error) {
	pr, err := readRun(ctx, r, task, task.Name, func(_ *pipelinev1.PipelineRun, err error) bool {
		return apierrors.IsNotFound(err) && task.Status.PipelineRunName != ""
	})
	if err != nil {
		return nil, fmt.Errorf("reading PipelineRun: %w", err)
	}
	return pr, nil
}

// readRun reads the Task's run of that name, nil when there is none: from
// the cache, then, when behind says the cache's answer may be stale and
// the Task is unfinished, from the API server. A finished Task's status
// is final, so its runs are never worth a live read.
func readRun[T any, PT interface {
	*T
	client.Object
}](ctx context.Context, r *TaskReconciler, task *v1alpha1.Task, name string, behind func(PT, error) bool) (PT, error) {
	key := types.NamespacedName{Namespace: task.Namespace, Name: name}
	run := PT(new(T))
	err := r.Client.Get(ctx, key, run)
	if behind(run, err) && !task.Status.State.IsFinished() {
		run = PT(new(T))
		err = r.APIReader.Get(ctx, key, run)
	}
	switch {
	case apierrors.IsNotFound(err):
		return nil, nil
	case err != nil:
		return nil, err
	}
	return run, nil
}

// createRun creates the Task's PipelineRun, labelled with its ID, which
// may not be in the Task's status yet.
func (r *TaskReconciler) createRun(ctx context.Context, task *v1alpha1.Task, id int64) (*pipelinev1.PipelineRun, error) {
	numbered := task.DeepCopy()
	numbered.Status.ID = id
	pr, err := BuildPipelineRun(numbered, r.Policy.Current())
	if err != nil {
		return nil, &createRunError{fmt.Errorf("building PipelineRun: %w", err)}
	}
	if err := r.Client.Create(ctx, pr); err != nil && !apierrors.IsAlreadyExists(err) {
		return nil, &createRunError{err}
	}
	ctrl.LoggerFrom(ctx).V(1).Info("Created PipelineRun", "PipelineRun", klog.KObj(pr), "taskID", id)
	return pr, nil
}

// createRunError is why a Task's PipelineRun could not be created.
type createRunError struct{ err error }

func (e *createRunError) Error() string { return "creating PipelineRun: " + e.err.Error() }
func (e *createRunError) Unwrap() error { return e.err }

// reportRunError shows in the Task's status why its PipelineRun could not
// be created (a quota, an admission webhook), with a new ID, so the App
// does not hold the ID promised while the error lasts. It returns err,
// for a retry, with any error of the write.
func (r *TaskReconciler) reportRunError(ctx context.Context, task *v1alpha1.Task, id int64, err error) error {
	var notCreated *createRunError
	if !errors.As(err, &notCreated) {
		return err
	}
	return errors.Join(err, r.updateStatus(ctx, task, StatusInput{ID: id, CreateError: notCreated.err.Error()}))
}

// updateStatus computes the Task's status from in (its ID, runs, refusal
// and any create error; the rest is filled here) and writes it when it
// changed, with an Event on each user-visible transition.
func (r *TaskReconciler) updateStatus(ctx context.Context, task *v1alpha1.Task, in StatusInput) error {
	in.Task, in.Now, in.PendingDeadline = task, r.Clock.Now(), r.pendingDeadline()
	status := ComputeTaskStatus(in)
	if status.State.IsFinished() {
		// The TTL in force travels with the final status rather than in a
		// write of its own, and is written again only when a changed spec
		// TTL or policy changes it.
		nsLabels, err := r.Namespaces.Get(ctx, task.Namespace)
		if err != nil {
			return err
		}
		status.TTLSecondsAfterFinished, status.TTLDecision = CompletionTTL(r.Policy.Current(), task, &status, nsLabels, in.Now)
	}
	if equality.Semantic.DeepEqual(status, task.Status) {
		return nil
	}
	before := task.DeepCopy()
	task.Status = status
	var opts []client.MergeFromOption
	if before.Status.ID == 0 && status.ID != 0 {
		// The resourceVersion precondition keeps the ID off a Task created
		// since under the same name.
		opts = append(opts, client.MergeFromWithOptimisticLock{})
	}
	if err := r.Client.Status().Patch(ctx, task, client.MergeFromWithOptions(before, opts...)); err != nil {
		return fmt.Errorf("writing Task status: %w", err)
	}
	r.written.wrote(task, r.Clock.Now())
	if c := meta.FindStatusCondition(status.Conditions, v1alpha1.ConditionSucceeded); c != nil {
		ctrl.LoggerFrom(ctx).V(1).Info("Wrote Task status", "state", status.State, "reason", c.Reason, "message", c.Message)
	}
	if before.Status.State != status.State {
		r.event(task, before.Status.State)
	}
	return nil
}

// event records a Task's end. Its start has no Event of its own: the
// status says it while the Task runs (Running, its pod, startTime), and
// the Event at the end names the pod and the start, one write per Task
// rather than two (docs/performance.md, run 23).
func (r *TaskReconciler) event(task *v1alpha1.Task, from v1alpha1.TaskState) {
	s := task.Status
	switch s.State {
	case v1alpha1.TaskStateSucceeded:
		r.Recorder.Eventf(task, nil, corev1.EventTypeNormal, "Succeeded", "Run", "Task %d of App %s succeeded%s", s.ID, task.Spec.AppRef.Name, parenthesized(ranIn(s)))
	case v1alpha1.TaskStateFailed:
		reason := "Failed"
		if c := meta.FindStatusCondition(s.Conditions, v1alpha1.ConditionSucceeded); c != nil && c.Reason == v1alpha1.TaskReasonRefused {
			reason = v1alpha1.TaskReasonRefused
		}
		r.Recorder.Eventf(task, nil, corev1.EventTypeWarning, reason, "Run", "Task %d of App %s failed: %s%s", s.ID, task.Spec.AppRef.Name, s.FailureReason, parenthesized(ranIn(s)))
	case v1alpha1.TaskStateCancelled:
		note := "it was " + string(from)
		if ran := ranIn(s); ran != "" {
			note += "; " + ran
		}
		r.Recorder.Eventf(task, nil, corev1.EventTypeNormal, "Cancelled", "Cancel", "Task %d of App %s was cancelled (%s)", s.ID, task.Spec.AppRef.Name, note)
	}
}

// ranIn says where and since when a finished Task ran, for its Event, as
// "pod NAME, started TIME": "" when it never had a pod.
func ranIn(s v1alpha1.TaskStatus) string {
	switch {
	case s.PodName == "":
		return ""
	case s.StartTime == nil:
		return "pod " + s.PodName
	}
	return fmt.Sprintf("pod %s, started %s", s.PodName, s.StartTime.UTC().Format(time.RFC3339))
}

// parenthesized returns " (s)", or "" for an empty s.
func parenthesized(s string) string {
	if s == "" {
		return ""
	}
	return " (" + s + ")"
}

// recordRuns labels a finished Task's done runs as recorded, which takes
// them out of the manager's watch: the Task's status is final and reads
// them no more. Runs still going (a Task failed by its pending deadline
// while Tekton cancels) stay watched until they are done. A run the cache
// still shows after its label was written is labelled again, harmlessly.
func (r *TaskReconciler) recordRuns(ctx context.Context, pr *pipelinev1.PipelineRun, tr *pipelinev1.TaskRun) error {
	if pr != nil && pr.IsDone() {
		if err := r.record(ctx, pr); err != nil {
			return fmt.Errorf("labelling PipelineRun recorded: %w", err)
		}
	}
	if tr != nil && tr.IsDone() {
		if err := r.record(ctx, tr); err != nil {
			return fmt.Errorf("labelling TaskRun recorded: %w", err)
		}
	}
	return nil
}

func (r *TaskReconciler) record(ctx context.Context, run client.Object) error {
	return client.IgnoreNotFound(r.Client.Patch(ctx, run, client.RawPatch(types.JSONPatchType, RecordedPatch())))
}

// cancel asks Tekton to stop the run: with the recorded label, the only
// change taskgate makes to a PipelineRun after creating it.
func (r *TaskReconciler) cancel(ctx context.Context, task *v1alpha1.Task, pr *pipelinev1.PipelineRun) error {
	if err := r.Client.Patch(ctx, pr, client.RawPatch(types.JSONPatchType, CancelPatch())); err != nil {
		return client.IgnoreNotFound(fmt.Errorf("cancelling PipelineRun: %w", err))
	}
	ctrl.LoggerFrom(ctx).Info("Cancelled PipelineRun", "PipelineRun", klog.KObj(pr), "state", task.Status.State)
	return nil
}

func (r *TaskReconciler) pendingDeadline() time.Duration {
	p := r.Policy.Current()
	if p.Mode == policy.ModeAudit || p.Tasks.PendingDeadline == nil {
		return 0
	}
	return p.Tasks.PendingDeadline.Duration
}

// SetupWithManager watches Tasks, the PipelineRuns they own and the
// TaskRuns of those, found through the label Tekton copies down.
func (r *TaskReconciler) SetupWithManager(mgr ctrl.Manager) error {
	toTask := handler.EnqueueRequestsFromMapFunc(func(_ context.Context, o client.Object) []ctrl.Request {
		name, ok := o.GetLabels()[v1alpha1.LabelTask]
		if !ok {
			return nil
		}
		return []ctrl.Request{{NamespacedName: types.NamespacedName{Namespace: o.GetNamespace(), Name: name}}}
	})
	return ctrl.NewControllerManagedBy(mgr).
		Named("task").
		WithOptions(controller.Options{MaxConcurrentReconciles: max(r.Workers, 1)}).
		For(&v1alpha1.Task{}).
		Owns(&pipelinev1.PipelineRun{}).
		Watches(&pipelinev1.TaskRun{}, toTask, builder.WithPredicates(predicate.ResourceVersionChangedPredicate{})).
		Complete(r)
}
