package reconciler

import (
	"context"
	"fmt"
	"strconv"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/taskgate/taskgate/api/v1alpha1"
)

// ensureID gives a Task the next ID of its App, gap-free and in order.
//
// The counter lives in the App's status and is taken under optimistic
// concurrency. The App also records which Task got the last ID, so a
// manager that stops between taking an ID and writing it to the Task
// finishes that hand-over first: the Task that was promised the ID gets
// it, and nobody else does.
func (r *TaskReconciler) ensureID(ctx context.Context, task *v1alpha1.Task) error {
	if task.Status.ID != 0 {
		return r.ensureIDLabel(ctx, task)
	}
	var id int64
	// The first attempt reads the App from the cache; a stale counter is
	// caught by the resourceVersion on update, and retries read live.
	reader := client.Reader(r.Client)
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		app := &v1alpha1.App{}
		defer func() { reader = r.APIReader }()
		if err := reader.Get(ctx, types.NamespacedName{Namespace: task.Namespace, Name: task.Spec.AppRef.Name}, app); err != nil {
			return err
		}
		if app.Status.LastTaskUID == string(task.UID) {
			id = app.Status.LastTaskID
			return nil
		}
		if err := r.completeHandOver(ctx, app); err != nil {
			return err
		}
		app.Status.LastTaskID++
		app.Status.LastTaskName, app.Status.LastTaskUID = task.Name, string(task.UID)
		id = app.Status.LastTaskID
		return r.Client.Status().Update(ctx, app)
	})
	if err != nil {
		// An App deleted meanwhile takes its Tasks with it.
		return client.IgnoreNotFound(fmt.Errorf("taking a task ID from App %s: %w", task.Spec.AppRef.Name, err))
	}
	if err := r.writeID(ctx, task, id); err != nil {
		return err
	}
	return r.ensureIDLabel(ctx, task)
}

// completeHandOver writes the App's last ID to the Task it was given to,
// if that Task still lacks it.
func (r *TaskReconciler) completeHandOver(ctx context.Context, app *v1alpha1.App) error {
	if app.Status.LastTaskUID == "" {
		return nil
	}
	key := types.NamespacedName{Namespace: app.Namespace, Name: app.Status.LastTaskName}
	prev := &v1alpha1.Task{}
	// Usually the cache already shows the hand-over done.
	if err := r.Client.Get(ctx, key, prev); err == nil && string(prev.UID) == app.Status.LastTaskUID && prev.Status.ID != 0 {
		return nil
	}
	err := r.APIReader.Get(ctx, key, prev)
	if apierrors.IsNotFound(err) || err == nil && (string(prev.UID) != app.Status.LastTaskUID || prev.Status.ID != 0) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading Task %s: %w", app.Status.LastTaskName, err)
	}
	return r.writeID(ctx, prev, app.Status.LastTaskID)
}

func (r *TaskReconciler) writeID(ctx context.Context, task *v1alpha1.Task, id int64) error {
	before := task.DeepCopy()
	task.Status.ID = id
	// The resourceVersion precondition keeps a stale read from writing a
	// second ID over the first.
	if err := r.Client.Status().Patch(ctx, task, client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{})); err != nil {
		return fmt.Errorf("writing task ID %d: %w", id, err)
	}
	return nil
}

// ensureIDLabel puts the ID in the taskgate.dev/task-id label, so
// `kubectl get tasks -l taskgate.dev/task-id=7` finds a run.
func (r *TaskReconciler) ensureIDLabel(ctx context.Context, task *v1alpha1.Task) error {
	want := strconv.FormatInt(task.Status.ID, 10)
	if task.Labels[v1alpha1.LabelTaskID] == want {
		return nil
	}
	before := task.DeepCopy()
	if task.Labels == nil {
		task.Labels = map[string]string{}
	}
	task.Labels[v1alpha1.LabelTaskID] = want
	if err := r.Client.Patch(ctx, task, client.MergeFrom(before)); err != nil {
		return fmt.Errorf("labelling task ID: %w", err)
	}
	return nil
}
