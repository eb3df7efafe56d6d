package reconciler

import (
	"cmp"
	"slices"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/taskgate/taskgate/api/v1alpha1"
)

// TaskIDLedger is the task ID protocol of one App, read from its status,
// where the counter lives: status.lastTaskID is the last ID given, and
// status.pendingTaskIDs the IDs promised to Tasks that do not show them yet.
//
// One status write of the App takes IDs for every Task of it still without
// one and records each as a promise; each Task then writes its own ID, and
// the next write drops the promise. A manager that stops in between finds
// the promises there and keeps them, so IDs are given in order of creation,
// without gaps, and never twice. The ledger only decides; task_id.go reads
// and writes.
type TaskIDLedger struct {
	App *v1alpha1.App
}

// Promised returns the ID the App promised the Task of uid, or 0.
func (l TaskIDLedger) Promised(uid types.UID) int64 {
	for _, p := range l.App.Status.PendingTaskIDs {
		if p.UID == string(uid) {
			return p.ID
		}
	}
	return 0
}

// Plan decides the App's next status write from what is known of its
// Tasks.
//
// Only Tasks the App owns count (OwnedBy): a Task of an App deleted without
// its Tasks takes nothing from a new App of the same name. A promise whose
// Task is not among them is dropped: the Task is gone, or was replaced by
// one of the same name. So is a promise whose Task shows an ID. Any other
// stays, and its ID is to be written; keeping it until the Task shows it
// means a lagging copy of that Task is never taken for one still waiting.
// The waiting Tasks, without an ID or a promise and not being deleted,
// take the next IDs in order of creation and then name, as many as fit in
// limit promises.
func (l TaskIDLedger) Plan(tasks []v1alpha1.Task, limit int) TaskIDPlan {
	app := l.App
	byUID := make(map[types.UID]*v1alpha1.Task, len(tasks))
	for i := range tasks {
		t := &tasks[i]
		if _, dup := byUID[t.UID]; !dup && t.Namespace == app.Namespace && t.Spec.AppRef.Name == app.Name && OwnedBy(t, app.UID) {
			byUID[t.UID] = t
		}
	}
	plan := TaskIDPlan{LastTaskID: app.Status.LastTaskID}
	promised := make(map[types.UID]bool, len(app.Status.PendingTaskIDs))
	for _, p := range app.Status.PendingTaskIDs {
		promised[types.UID(p.UID)] = true
		if t, ok := byUID[types.UID(p.UID)]; ok && t.Status.ID == 0 {
			plan.Pending = append(plan.Pending, p)
			plan.Complete = append(plan.Complete, TaskIDWrite{Task: t, ID: p.ID})
		}
	}
	var waiting []*v1alpha1.Task
	for _, t := range byUID {
		if t.Status.ID == 0 && t.DeletionTimestamp == nil && !promised[t.UID] {
			waiting = append(waiting, t)
		}
	}
	slices.SortFunc(waiting, func(a, b *v1alpha1.Task) int {
		return cmp.Or(a.CreationTimestamp.Compare(b.CreationTimestamp.Time), strings.Compare(a.Name, b.Name))
	})
	for _, t := range waiting[:min(len(waiting), max(limit-len(plan.Pending), 0))] {
		plan.LastTaskID++
		plan.Pending = append(plan.Pending, v1alpha1.TaskIDGrant{Name: t.Name, UID: string(t.UID), ID: plan.LastTaskID})
		plan.New = append(plan.New, TaskIDWrite{Task: t, ID: plan.LastTaskID})
	}
	return plan
}

// TaskIDPlan is what one status write of an App does to its Tasks' IDs.
type TaskIDPlan struct {
	// Complete are the promised IDs that their Tasks do not show yet.
	Complete []TaskIDWrite
	// New are the Tasks that take IDs in this write, in ID order.
	New []TaskIDWrite
	// LastTaskID and Pending are the App's status.lastTaskID and
	// status.pendingTaskIDs after the write.
	LastTaskID int64
	Pending    []v1alpha1.TaskIDGrant
}

// TaskIDWrite is an ID to write to a Task.
type TaskIDWrite struct {
	Task *v1alpha1.Task
	ID   int64
}

// IDOf returns the ID the plan gives or promises the Task, or 0.
func (p TaskIDPlan) IDOf(uid types.UID) int64 {
	for _, w := range slices.Concat(p.Complete, p.New) {
		if w.Task.UID == uid {
			return w.ID
		}
	}
	return 0
}

// ApplyTo writes the plan into the App's status, for the status write.
func (p TaskIDPlan) ApplyTo(app *v1alpha1.App) {
	app.Status.LastTaskID, app.Status.PendingTaskIDs = p.LastTaskID, p.Pending
}

// OwnedBy reports whether the Task's ownerReferences name the App of uid:
// the admission webhook sets one on every Task it admits, and the garbage
// collector removes it when the App is deleted without its Tasks.
func OwnedBy(task *v1alpha1.Task, uid types.UID) bool {
	return uid != "" && slices.ContainsFunc(task.OwnerReferences, func(o metav1.OwnerReference) bool { return o.UID == uid })
}
