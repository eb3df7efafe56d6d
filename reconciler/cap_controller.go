package reconciler

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/recorder"

	"github.com/taskgate/taskgate/api/v1alpha1"
	"github.com/taskgate/taskgate/facts"
	"github.com/taskgate/taskgate/policy"
)

// IndexTaskApp indexes Tasks by the App they run, so the cap finds an
// App's Tasks without listing every Task in the cluster.
const IndexTaskApp = "spec.appRef.name"

// CapReconciler keeps at most the policy's number of Tasks per App,
// deleting the oldest finished ones, with their PipelineRuns, pods and
// logs. It runs whenever a Task is created or finishes, so an App is back
// under its cap within seconds.
type CapReconciler struct {
	Client client.Client
	// APIReader reads each Task fresh before it is deleted.
	APIReader client.Reader
	Policy    facts.PolicySource
	Recorder  recorder.EventRecorder
	Deleted   func(reason string)
}

// Reconcile enforces the cap of one App, named by the request.
func (r *CapReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var tasks v1alpha1.TaskList
	// Not copied: an App may keep thousands of finished Tasks, the cap is
	// decided on every create and finish, and facts only reads them.
	if err := r.Client.List(ctx, &tasks, client.InNamespace(req.Namespace), client.MatchingFields{IndexTaskApp: req.Name},
		client.UnsafeDisableDeepCopy); err != nil {
		return ctrl.Result{}, fmt.Errorf("listing Tasks of App %s: %w", req.Name, err)
	}
	facts, app, err := r.facts(ctx, req.NamespacedName, tasks.Items)
	if err != nil {
		return ctrl.Result{}, err
	}
	d := r.Policy.Current().TaskCap(facts)
	if len(d.Delete) == 0 {
		return ctrl.Result{}, nil
	}
	if d.Audit {
		if app != nil {
			r.Recorder.Eventf(app, nil, corev1.EventTypeNormal, "AuditCap", "Prune",
				"audit: would delete %d finished Tasks past the cap of %d (rule %s)", len(d.Delete), d.Max, d.Rule)
		}
		return ctrl.Result{}, nil
	}
	deleted := 0
	for _, name := range d.Delete {
		ok, err := r.deleteIfStillPastCap(ctx, types.NamespacedName{Namespace: req.Namespace, Name: name}, req.Name)
		if err != nil {
			return ctrl.Result{}, err
		}
		if ok {
			deleted++
		}
	}
	if deleted > 0 {
		ctrl.LoggerFrom(ctx).Info("Pruned Tasks past the cap", "App", klog.KRef(req.Namespace, req.Name), "deleted", deleted, "cap", d.Max, "rule", d.Rule)
		if app != nil {
			r.Recorder.Eventf(app, nil, corev1.EventTypeNormal, "Pruned", "Prune",
				"Deleted the %d oldest finished Tasks to keep %d (rule %s)", deleted, d.Max, d.Rule)
		}
	}
	return ctrl.Result{}, nil
}

// facts gathers what the cap decides on, and returns the App, nil when it
// is gone (its Tasks still count until the garbage collector takes them).
func (r *CapReconciler) facts(ctx context.Context, key types.NamespacedName, tasks []v1alpha1.Task) (policy.AppFacts, *v1alpha1.App, error) {
	f := policy.AppFacts{Namespace: key.Namespace, Tasks: make([]policy.TaskFacts, 0, len(tasks))}
	ns, err := facts.ReadNamespace(ctx, r.Client, key.Namespace)
	if err != nil {
		return f, nil, err
	}
	f.NamespaceLabels = ns.Labels
	app := &v1alpha1.App{}
	switch err := r.Client.Get(ctx, key, app); {
	case apierrors.IsNotFound(err):
		app = nil
	case err != nil:
		return f, nil, fmt.Errorf("reading App %s: %w", key, err)
	default:
		f.AppLabels = app.Labels
	}
	for _, t := range tasks {
		if !t.DeletionTimestamp.IsZero() {
			continue
		}
		f.Tasks = append(f.Tasks, policy.TaskFacts{
			Name: t.Name, ID: t.Status.ID, Created: t.CreationTimestamp.Time, Finished: t.Status.State.IsFinished(),
		})
	}
	return f, app, nil
}

// deleteIfStillPastCap reads the Task from the API server and deletes it
// only if it is still a finished Task of the App: the cache may lag, and a
// Task of the same name may have replaced it.
func (r *CapReconciler) deleteIfStillPastCap(ctx context.Context, key types.NamespacedName, app string) (bool, error) {
	task := &v1alpha1.Task{}
	if err := r.APIReader.Get(ctx, key, task); err != nil {
		return false, client.IgnoreNotFound(err)
	}
	if task.Spec.AppRef.Name != app || !task.Status.State.IsFinished() || !task.DeletionTimestamp.IsZero() {
		return false, nil
	}
	if err := DeleteTask(ctx, r.Client, task); err != nil {
		return false, err
	}
	ctrl.LoggerFrom(ctx).V(1).Info("Deleted Task past the cap", "Task", klog.KObj(task), "taskID", task.Status.ID)
	if r.Deleted != nil {
		r.Deleted(DeleteReasonCap)
	}
	return true, nil
}

// SetupWithManager indexes Tasks by App and enforces the cap whenever a
// Task is created or finishes.
func (r *CapReconciler) SetupWithManager(ctx context.Context, mgr ctrl.Manager) error {
	if err := mgr.GetFieldIndexer().IndexField(ctx, &v1alpha1.Task{}, IndexTaskApp, func(o client.Object) []string {
		return []string{o.(*v1alpha1.Task).Spec.AppRef.Name}
	}); err != nil {
		return fmt.Errorf("indexing Tasks by App: %w", err)
	}
	toApp := handler.EnqueueRequestsFromMapFunc(func(_ context.Context, o client.Object) []ctrl.Request {
		return []ctrl.Request{{NamespacedName: types.NamespacedName{Namespace: o.GetNamespace(), Name: o.(*v1alpha1.Task).Spec.AppRef.Name}}}
	})
	createdOrFinished := predicate.Funcs{
		CreateFunc: func(event.CreateEvent) bool { return true },
		UpdateFunc: func(e event.UpdateEvent) bool {
			return !e.ObjectOld.(*v1alpha1.Task).Status.State.IsFinished() && e.ObjectNew.(*v1alpha1.Task).Status.State.IsFinished()
		},
		DeleteFunc:  func(event.DeleteEvent) bool { return false },
		GenericFunc: func(event.GenericEvent) bool { return false },
	}
	return ctrl.NewControllerManagedBy(mgr).
		Named("cap").
		Watches(&v1alpha1.Task{}, toApp, builder.WithPredicates(createdOrFinished)).
		Complete(r)
}
