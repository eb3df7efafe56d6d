package reconciler

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/taskgate/taskgate/api/v1alpha1"
)

// ensureID returns the Task's ID, the next of its App, gap-free and in
// order. An ID new to the Task is not in its status yet: the caller writes
// it there with the Task's first status, one write rather than two. The
// Task has no label for it, which would be a write of its own: clients
// select status.id (v1alpha1.FieldTaskID). It returns 0 when the App is
// gone, or is not the App the Task was created for. TaskIDLedger is the
// protocol; this file reads and writes what it decides.
func (r *TaskReconciler) ensureID(ctx context.Context, task *v1alpha1.Task) (int64, error) {
	if task.Status.ID != 0 {
		return task.Status.ID, nil
	}
	return r.takeID(ctx, task)
}

// takeID returns the ID promised to the Task, taking IDs for the App's
// waiting Tasks if none is. It returns 0 when the App is gone or is not
// the one the Task was created for.
func (r *TaskReconciler) takeID(ctx context.Context, task *v1alpha1.Task) (int64, error) {
	key := types.NamespacedName{Namespace: task.Namespace, Name: task.Spec.AppRef.Name}
	cached := &v1alpha1.App{}
	if err := r.Client.Get(ctx, key, cached); err != nil {
		if apierrors.IsNotFound(err) {
			// An App deleted meanwhile takes its Tasks with it.
			r.ids.forget(key)
			return 0, nil
		}
		return 0, fmt.Errorf("reading App %s: %w", key.Name, err)
	}
	if !OwnedBy(task, cached.UID) {
		// A Task orphaned when its App was deleted (propagationPolicy
		// Orphan) ran with that App's configuration; a new App of the
		// same name owes it nothing, least of all one of its IDs.
		r.Recorder.Eventf(task, cached, corev1.EventTypeWarning, ReasonNotOwnedByApp, "TakeID",
			"App %s is not the App this Task was created for (uid %s); the Task takes no ID from it", cached.Name, cached.UID)
		return 0, nil
	}
	state := r.ids.of(key)
	id := TaskIDLedger{App: state.latest(cached)}.Promised(task.UID)
	if id == 0 {
		state.mu.Lock()
		defer state.mu.Unlock()
		// Another worker may have taken this Task's ID while we waited.
		app := state.latest(cached)
		if id = (TaskIDLedger{App: app}).Promised(task.UID); id == 0 {
			var err error
			if id, err = r.takeIDs(ctx, task, app.DeepCopy(), state); err != nil || id == 0 {
				return 0, err
			}
		}
	}
	// The Task's own reconcile writes its ID: a batch taken meanwhile
	// leaves it alone.
	state.claimed.Store(task.UID, true)
	return id, nil
}

// takeIDs writes the IDs the App promised and its Tasks still lack, then
// takes IDs for all its waiting Tasks in one status write, and returns the
// Task's. The caller holds state.mu.
func (r *TaskReconciler) takeIDs(ctx context.Context, task *v1alpha1.Task, app *v1alpha1.App, state *appIDState) (int64, error) {
	var id int64
	done := map[types.UID]bool{}
	live := false
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if live {
			// A conflict means the App changed; the cache may lag it.
			app = &v1alpha1.App{}
			if err := r.APIReader.Get(ctx, types.NamespacedName{Namespace: task.Namespace, Name: task.Spec.AppRef.Name}, app); err != nil {
				return err
			}
			if id = (TaskIDLedger{App: app}).Promised(task.UID); id != 0 {
				return nil
			}
		}
		live = true
		tasks, err := r.appTasks(ctx, app, task)
		if err != nil {
			return err
		}
		// The cache can be newer than the Task being reconciled.
		if own := tasks[slices.IndexFunc(tasks, func(t v1alpha1.Task) bool { return t.UID == task.UID })]; own.Status.ID != 0 {
			id = own.Status.ID
			return nil
		} else if own.DeletionTimestamp != nil {
			return fmt.Errorf("task %s is being deleted", task.Name)
		}
		plan := TaskIDLedger{App: app}.Plan(tasks, v1alpha1.MaxPendingTaskIDs)
		if err := r.writePromised(ctx, plan, state, done); err != nil {
			return err
		}
		mine := plan.IDOf(task.UID)
		if mine == 0 {
			// The Tasks promised IDs write them; a retry finds room.
			return fmt.Errorf("app %s holds %d task IDs promised and not yet written, the most it can", app.Name, len(plan.Pending))
		}
		// Not promised, the Task is among the new: there is a batch to write.
		plan.ApplyTo(app)
		if err := r.Client.Status().Update(ctx, app); err != nil {
			return err
		}
		state.wrote(app)
		ctrl.LoggerFrom(ctx).V(1).Info("Took task IDs", "App", klog.KObj(app), "count", len(plan.New), "lastTaskID", plan.LastTaskID)
		id = mine
		return nil
	})
	if err != nil {
		if apierrors.IsNotFound(err) {
			r.ids.forget(types.NamespacedName{Namespace: task.Namespace, Name: task.Spec.AppRef.Name})
			return 0, nil
		}
		return 0, fmt.Errorf("taking task IDs from App %s: %w", task.Spec.AppRef.Name, err)
	}
	return id, nil
}

// writePromised writes the IDs promised to Tasks that do not show them,
// unless a worker is writing one already or an earlier attempt wrote it.
func (r *TaskReconciler) writePromised(ctx context.Context, plan TaskIDPlan, state *appIDState, done map[types.UID]bool) error {
	for _, w := range plan.Complete {
		if _, claimed := state.claimed.Load(w.Task.UID); claimed || done[w.Task.UID] {
			continue
		}
		// The listed Tasks are the cache's own: write a copy.
		if err := r.writeID(ctx, w.Task.DeepCopy(), w.ID); client.IgnoreNotFound(err) != nil {
			return err
		}
		done[w.Task.UID] = true
	}
	return nil
}

// appTasks returns the App's Tasks as the cache has them, the reconciled
// one among them even without the app label, and any Task promised an ID
// that the cache does not show, read live: only a Task that is really gone
// loses its promise.
func (r *TaskReconciler) appTasks(ctx context.Context, app *v1alpha1.App, task *v1alpha1.Task) ([]v1alpha1.Task, error) {
	list := &v1alpha1.TaskList{}
	// Not copied: an App may have thousands of finished Tasks, and
	// the ledger only reads them.
	if err := r.Client.List(ctx, list, client.InNamespace(app.Namespace), client.MatchingLabels{v1alpha1.LabelApp: app.Name},
		client.UnsafeDisableDeepCopy); err != nil {
		return nil, fmt.Errorf("listing Tasks of App %s: %w", app.Name, err)
	}
	tasks := list.Items
	listed := make(map[types.UID]bool, len(tasks))
	for _, t := range tasks {
		listed[t.UID] = true
	}
	if !listed[task.UID] {
		tasks = append(tasks, *task)
	}
	for _, p := range app.Status.PendingTaskIDs {
		if listed[types.UID(p.UID)] || p.UID == string(task.UID) {
			continue
		}
		t := &v1alpha1.Task{}
		err := r.APIReader.Get(ctx, types.NamespacedName{Namespace: app.Namespace, Name: p.Name}, t)
		switch {
		case apierrors.IsNotFound(err):
		case err != nil:
			return nil, fmt.Errorf("reading Task %s: %w", p.Name, err)
		case string(t.UID) == p.UID:
			tasks = append(tasks, *t)
		}
	}
	return tasks, nil
}

// writeID writes a promised ID to the Task's status. It returns a NotFound
// error if the Task is gone or was replaced by another of the same name.
func (r *TaskReconciler) writeID(ctx context.Context, task *v1alpha1.Task, id int64) error {
	before := task.DeepCopy()
	task.Status.ID = id
	// The resourceVersion precondition keeps the ID off a Task created
	// since under the same name.
	err := r.Client.Status().Patch(ctx, task, client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{}))
	if err == nil {
		r.written.wrote(task, r.Clock.Now())
	}
	if !apierrors.IsConflict(err) {
		return wrapIDErr(err, id)
	}
	// Often another worker wrote it already.
	live := &v1alpha1.Task{}
	if err := r.APIReader.Get(ctx, client.ObjectKeyFromObject(task), live); err != nil {
		return wrapIDErr(err, id)
	}
	if live.UID != task.UID {
		return wrapIDErr(apierrors.NewNotFound(v1alpha1.GroupVersion.WithResource("tasks").GroupResource(), task.Name), id)
	}
	*task = *live
	if task.Status.ID != 0 {
		return nil
	}
	before = task.DeepCopy()
	task.Status.ID = id
	if err := r.Client.Status().Patch(ctx, task, client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{})); err != nil {
		return wrapIDErr(err, id)
	}
	r.written.wrote(task, r.Clock.Now())
	return nil
}

func wrapIDErr(err error, id int64) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("writing task ID %d: %w", id, err)
}

// ReasonNotOwnedByApp is the reason of the Warning Event on a Task that
// names an App which does not own it.
const ReasonNotOwnedByApp = "NotOwnedByApp"

// appIDs serialises the taking of each App's task IDs within the process,
// so the Task workers do not conflict on the App's resourceVersion. Its
// zero value is ready to use.
type appIDs struct {
	mu   sync.Mutex
	apps map[types.NamespacedName]*appIDState
}

type appIDState struct {
	// mu is held while taking IDs.
	mu sync.Mutex
	// written is the App as its last status write returned it, fresher
	// than the cache just after.
	written atomic.Pointer[v1alpha1.App]
	// claimed holds the UIDs of Tasks whose own reconcile writes their
	// promised ID, so that a batch does not race it.
	claimed sync.Map
}

func (a *appIDs) of(key types.NamespacedName) *appIDState {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.apps == nil {
		a.apps = map[types.NamespacedName]*appIDState{}
	}
	s, ok := a.apps[key]
	if !ok {
		s = &appIDState{}
		a.apps[key] = s
	}
	return s
}

func (a *appIDs) forget(key types.NamespacedName) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.apps, key)
}

// latest is the App as last written, unless the cache shows another App
// of the same name. The caller must not modify it.
func (s *appIDState) latest(cached *v1alpha1.App) *v1alpha1.App {
	if w := s.written.Load(); w != nil && w.UID == cached.UID {
		return w
	}
	return cached
}

// wrote remembers the App as written, and forgets claims on IDs it no
// longer promises.
func (s *appIDState) wrote(app *v1alpha1.App) {
	s.written.Store(app)
	s.claimed.Range(func(uid, _ any) bool {
		if (TaskIDLedger{App: app}).Promised(uid.(types.UID)) == 0 {
			s.claimed.Delete(uid)
		}
		return true
	})
}
