package reconciler

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/taskgate/taskgate/api/v1alpha1"
)

// webUID is the UID of App web, which owns idTask's Tasks.
const webUID = "web-uid"

// idTask is a Task of App web in namespace shop, owned by it, its UID its
// name, created d after created.
func idTask(name string, d time.Duration, id int64) v1alpha1.Task {
	return v1alpha1.Task{
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: name, UID: types.UID(name), CreationTimestamp: metav1.NewTime(at(d)),
			OwnerReferences: []metav1.OwnerReference{{APIVersion: v1alpha1.GroupVersion.String(), Kind: "App", Name: "web", UID: webUID}}},
		Spec:   v1alpha1.TaskSpec{AppRef: v1alpha1.AppReference{Name: "web"}},
		Status: v1alpha1.TaskStatus{ID: id},
	}
}

func deleting(t v1alpha1.Task) v1alpha1.Task {
	t.DeletionTimestamp = mt(time.Hour)
	return t
}

func withUID(t v1alpha1.Task, uid types.UID) v1alpha1.Task {
	t.UID = uid
	return t
}

// ownedBy makes the Task's owner the App of uid, or no App with "".
func ownedBy(t v1alpha1.Task, uid types.UID) v1alpha1.Task {
	t.OwnerReferences = nil
	if uid != "" {
		t.OwnerReferences = []metav1.OwnerReference{{APIVersion: v1alpha1.GroupVersion.String(), Kind: "App", Name: "web", UID: uid}}
	}
	return t
}

func promise(name string, id int64) v1alpha1.TaskIDGrant {
	return v1alpha1.TaskIDGrant{Name: name, UID: name, ID: id}
}

func TestTaskIDLedgerPlan(t *testing.T) {
	other := idTask("other-app", 0, 0)
	other.Spec.AppRef.Name = "api"
	otherNS := idTask("other-ns", 0, 0)
	otherNS.Namespace = "blog"

	for _, tc := range []struct {
		name     string
		last     int64
		pending  []v1alpha1.TaskIDGrant
		tasks    []v1alpha1.Task
		limit    int
		complete []string // name=id
		added    []string // name=id
		wantLast int64
		want     []v1alpha1.TaskIDGrant
	}{{
		name: "no tasks",
		last: 4,
		// Nothing to take and nothing to write.
		wantLast: 4,
	}, {
		name:     "first IDs, by creation then name",
		tasks:    []v1alpha1.Task{idTask("b", 0, 0), idTask("c", time.Second, 0), idTask("a", 0, 0), idTask("early", -time.Second, 0)},
		added:    []string{"early=1", "a=2", "b=3", "c=4"},
		wantLast: 4,
		want:     []v1alpha1.TaskIDGrant{promise("early", 1), promise("a", 2), promise("b", 3), promise("c", 4)},
	}, {
		name:     "continues from lastTaskID, skipping Tasks with IDs and Tasks being deleted",
		last:     7,
		tasks:    []v1alpha1.Task{idTask("done", 0, 7), deleting(idTask("going", 0, 0)), idTask("new", time.Second, 0)},
		added:    []string{"new=8"},
		wantLast: 8,
		want:     []v1alpha1.TaskIDGrant{promise("new", 8)},
	}, {
		name:     "other Apps' and namespaces' Tasks are not this App's",
		tasks:    []v1alpha1.Task{other, otherNS, idTask("mine", 0, 0)},
		added:    []string{"mine=1"},
		wantLast: 1,
		want:     []v1alpha1.TaskIDGrant{promise("mine", 1)},
	}, {
		name:    "a promise is kept, written and never given again",
		last:    5,
		pending: []v1alpha1.TaskIDGrant{promise("waits", 5)},
		// Created before the promise's Task, yet after it in ID.
		tasks:    []v1alpha1.Task{idTask("waits", time.Second, 0), idTask("older", 0, 0)},
		complete: []string{"waits=5"},
		added:    []string{"older=6"},
		wantLast: 6,
		want:     []v1alpha1.TaskIDGrant{promise("waits", 5), promise("older", 6)},
	}, {
		name:     "a promise to a Task being deleted is still written",
		last:     5,
		pending:  []v1alpha1.TaskIDGrant{promise("going", 5)},
		tasks:    []v1alpha1.Task{deleting(idTask("going", 0, 0))},
		complete: []string{"going=5"},
		wantLast: 5,
		want:     []v1alpha1.TaskIDGrant{promise("going", 5)},
	}, {
		name:     "a promise is dropped once its Task shows the ID",
		last:     6,
		pending:  []v1alpha1.TaskIDGrant{promise("done", 5), promise("waits", 6)},
		tasks:    []v1alpha1.Task{idTask("done", 0, 5), idTask("waits", 0, 0), idTask("new", time.Second, 0)},
		complete: []string{"waits=6"},
		added:    []string{"new=7"},
		wantLast: 7,
		want:     []v1alpha1.TaskIDGrant{promise("waits", 6), promise("new", 7)},
	}, {
		name:    "promises to vanished and replaced Tasks are dropped",
		last:    6,
		pending: []v1alpha1.TaskIDGrant{promise("gone", 5), promise("reused", 6)},
		// A new Task under the old name is a new Task.
		tasks:    []v1alpha1.Task{withUID(idTask("reused", time.Second, 0), "reused-2")},
		added:    []string{"reused=7"},
		wantLast: 7,
		want:     []v1alpha1.TaskIDGrant{{Name: "reused", UID: "reused-2", ID: 7}},
	}, {
		name: "an orphan of a deleted App, or a Task of another App of the name, takes no ID",
		last: 3,
		// The garbage collector removed the orphan's ownerReference.
		tasks:    []v1alpha1.Task{ownedBy(idTask("orphan", 0, 0), ""), ownedBy(idTask("old-web", 0, 0), "old-web-uid"), idTask("mine", time.Second, 0)},
		added:    []string{"mine=4"},
		wantLast: 4,
		want:     []v1alpha1.TaskIDGrant{promise("mine", 4)},
	}, {
		name:    "a promise to a Task the App no longer owns is dropped",
		last:    5,
		pending: []v1alpha1.TaskIDGrant{promise("disowned", 5)},
		tasks:   []v1alpha1.Task{ownedBy(idTask("disowned", 0, 0), "")},
		// Nothing written, the counter kept: IDs are never given twice.
		wantLast: 5,
	}, {
		name:     "a Task listed twice takes one ID",
		tasks:    []v1alpha1.Task{idTask("twice", 0, 0), idTask("twice", 0, 0)},
		added:    []string{"twice=1"},
		wantLast: 1,
		want:     []v1alpha1.TaskIDGrant{promise("twice", 1)},
	}, {
		name:     "the batch is capped, oldest first, kept promises included",
		last:     1,
		pending:  []v1alpha1.TaskIDGrant{promise("waits", 1)},
		tasks:    []v1alpha1.Task{idTask("waits", 0, 0), idTask("n3", 3*time.Second, 0), idTask("n1", time.Second, 0), idTask("n2", 2*time.Second, 0)},
		limit:    3,
		complete: []string{"waits=1"},
		added:    []string{"n1=2", "n2=3"},
		wantLast: 3,
		want:     []v1alpha1.TaskIDGrant{promise("waits", 1), promise("n1", 2), promise("n2", 3)},
	}, {
		name:     "a full list takes nothing",
		last:     2,
		pending:  []v1alpha1.TaskIDGrant{promise("w1", 1), promise("w2", 2)},
		tasks:    []v1alpha1.Task{idTask("w1", 0, 0), idTask("w2", 0, 0), idTask("new", time.Second, 0)},
		limit:    2,
		complete: []string{"w1=1", "w2=2"},
		wantLast: 2,
		want:     []v1alpha1.TaskIDGrant{promise("w1", 1), promise("w2", 2)},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			app := &v1alpha1.App{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web", UID: webUID},
				Status: v1alpha1.AppStatus{LastTaskID: tc.last, PendingTaskIDs: tc.pending}}
			limit := tc.limit
			if limit == 0 {
				limit = v1alpha1.MaxPendingTaskIDs
			}
			plan := TaskIDLedger{App: app}.Plan(tc.tasks, limit)
			if diff := cmp.Diff(tc.complete, writes(plan.Complete)); diff != "" {
				t.Errorf("Complete (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.added, writes(plan.New)); diff != "" {
				t.Errorf("New (-want +got):\n%s", diff)
			}
			if plan.LastTaskID != tc.wantLast {
				t.Errorf("LastTaskID = %d, want %d", plan.LastTaskID, tc.wantLast)
			}
			if diff := cmp.Diff(tc.want, plan.Pending); diff != "" {
				t.Errorf("Pending (-want +got):\n%s", diff)
			}
			for _, w := range append(plan.Complete, plan.New...) {
				if got := plan.IDOf(w.Task.UID); got != w.ID {
					t.Errorf("IDOf(%s) = %d, want %d", w.Task.UID, got, w.ID)
				}
			}
		})
	}
}

func TestTaskIDLedgerPromised(t *testing.T) {
	app := &v1alpha1.App{Status: v1alpha1.AppStatus{LastTaskID: 3, PendingTaskIDs: []v1alpha1.TaskIDGrant{promise("w2", 2), promise("w3", 3)}}}
	for _, tc := range []struct {
		name string
		uid  types.UID
		want int64
	}{
		{name: "promised", uid: "w3", want: 3},
		{name: "the first promise", uid: "w2", want: 2},
		{name: "not promised", uid: "w1", want: 0},
		{name: "no UID", uid: "", want: 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := (TaskIDLedger{App: app}).Promised(tc.uid); got != tc.want {
				t.Errorf("Promised(%q) = %d, want %d", tc.uid, got, tc.want)
			}
		})
	}
}

func TestTaskIDPlanApplyTo(t *testing.T) {
	for _, tc := range []struct {
		name string
		plan TaskIDPlan
		want v1alpha1.AppStatus
	}{{
		name: "a batch taken",
		plan: TaskIDPlan{LastTaskID: 5, Pending: []v1alpha1.TaskIDGrant{promise("a", 4), promise("b", 5)}},
		want: v1alpha1.AppStatus{LastTaskID: 5, PendingTaskIDs: []v1alpha1.TaskIDGrant{promise("a", 4), promise("b", 5)}},
	}, {
		name: "every promise kept: none pending",
		plan: TaskIDPlan{LastTaskID: 5},
		want: v1alpha1.AppStatus{LastTaskID: 5},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			app := &v1alpha1.App{Status: v1alpha1.AppStatus{LastTaskID: 3, PendingTaskIDs: []v1alpha1.TaskIDGrant{promise("a", 4)}}}
			tc.plan.ApplyTo(app)
			if diff := cmp.Diff(tc.want, app.Status); diff != "" {
				t.Errorf("status (-want +got):\n%s", diff)
			}
			if got := tc.plan.IDOf("unknown"); got != 0 {
				t.Errorf("IDOf(unknown) = %d, want 0", got)
			}
		})
	}
}

func TestOwnedBy(t *testing.T) {
	for _, tc := range []struct {
		name   string
		owners []types.UID
		uid    types.UID
		want   bool
	}{
		{name: "owned", owners: []types.UID{"a"}, uid: "a", want: true},
		{name: "among other owners", owners: []types.UID{"x", "a"}, uid: "a", want: true},
		{name: "orphaned", uid: "a", want: false},
		{name: "another App of the name", owners: []types.UID{"old"}, uid: "a", want: false},
		{name: "an App without a UID owns nothing", owners: []types.UID{""}, uid: "", want: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			task := &v1alpha1.Task{}
			for _, o := range tc.owners {
				task.OwnerReferences = append(task.OwnerReferences, metav1.OwnerReference{Kind: "App", Name: "web", UID: o})
			}
			if got := OwnedBy(task, tc.uid); got != tc.want {
				t.Errorf("OwnedBy(%v, %q) = %v, want %v", tc.owners, tc.uid, got, tc.want)
			}
		})
	}
}

func writes(ws []TaskIDWrite) []string {
	var out []string
	for _, w := range ws {
		out = append(out, fmt.Sprintf("%s=%d", w.Task.Name, w.ID))
	}
	return out
}
