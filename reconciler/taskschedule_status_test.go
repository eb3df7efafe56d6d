package reconciler

import (
	"errors"
	"reflect"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	"github.com/taskgate/taskgate/api/v1alpha1"
)

func scheduledTask(name string, owner types.UID, state v1alpha1.TaskState, id int64, done string) v1alpha1.Task {
	t := v1alpha1.Task{ObjectMeta: metav1.ObjectMeta{Name: name, OwnerReferences: []metav1.OwnerReference{
		{Kind: "TaskSchedule", Name: "s", UID: owner, Controller: ptr.To(true)}}}}
	t.Status.State, t.Status.ID = state, id
	if done != "" {
		at, _ := time.Parse(time.RFC3339, done)
		t.Status.CompletionTime = &metav1.Time{Time: at}
	}
	return t
}

func TestTaskScheduleStatus(t *testing.T) {
	at := func(s string) *metav1.Time { tt, _ := time.Parse(time.RFC3339, s); return &metav1.Time{Time: tt} }
	tasks := []v1alpha1.Task{
		scheduledTask("s-3", "u1", v1alpha1.TaskStateRunning, 3, ""),
		scheduledTask("s-1", "u1", v1alpha1.TaskStateSucceeded, 1, "2026-12-07T01:00:30Z"),
		scheduledTask("s-2", "u1", v1alpha1.TaskStateFailed, 2, "2026-12-07T02:00:30Z"),
		scheduledTask("s-0", "old", v1alpha1.TaskStateRunning, 9, ""),
		scheduledTask("s-4", "u1", "", 0, ""),
	}
	for _, tc := range []struct {
		name    string
		suspend bool
		res     tickResult
		err     error
		want    v1alpha1.TaskScheduleStatus
	}{{
		name: "a Task just started is active before the cache shows it",
		res:  tickResult{started: "s-5", next: time.Date(2026, 12, 7, 4, 0, 0, 0, time.UTC)},
		want: v1alpha1.TaskScheduleStatus{
			ObservedGeneration: 2, NextScheduleTime: at("2026-12-07T04:00:00Z"),
			Active:       []v1alpha1.TaskReference{{Name: "s-3", ID: 3}, {Name: "s-4"}, {Name: "s-5"}},
			LastFinished: &v1alpha1.FinishedTaskReference{TaskReference: v1alpha1.TaskReference{Name: "s-2", ID: 2}, State: v1alpha1.TaskStateFailed, CompletionTime: at("2026-12-07T02:00:30Z")},
			Conditions:   []metav1.Condition{{Type: "Ready", Status: metav1.ConditionTrue, ObservedGeneration: 2, Reason: "Scheduled", Message: "A Task starts at each tick"}},
		},
	}, {
		name: "suspended: no next tick", suspend: true,
		want: v1alpha1.TaskScheduleStatus{
			ObservedGeneration: 2,
			Active:             []v1alpha1.TaskReference{{Name: "s-3", ID: 3}, {Name: "s-4"}},
			LastFinished:       &v1alpha1.FinishedTaskReference{TaskReference: v1alpha1.TaskReference{Name: "s-2", ID: 2}, State: v1alpha1.TaskStateFailed, CompletionTime: at("2026-12-07T02:00:30Z")},
			Conditions:         []metav1.Condition{{Type: "Ready", Status: metav1.ConditionFalse, ObservedGeneration: 2, Reason: "Suspended", Message: "No Task starts while spec.suspend is true"}},
		},
	}, {
		name: "a failed create",
		err:  errors.New("creating Task shop/s-5: denied"),
		want: v1alpha1.TaskScheduleStatus{
			ObservedGeneration: 2,
			Active:             []v1alpha1.TaskReference{{Name: "s-3", ID: 3}, {Name: "s-4"}},
			LastFinished:       &v1alpha1.FinishedTaskReference{TaskReference: v1alpha1.TaskReference{Name: "s-2", ID: 2}, State: v1alpha1.TaskStateFailed, CompletionTime: at("2026-12-07T02:00:30Z")},
			Conditions: []metav1.Condition{{Type: "Ready", Status: metav1.ConditionFalse, ObservedGeneration: 2, Reason: "TaskCreateFailed",
				Message: "The last tick's Task could not be created: creating Task shop/s-5: denied"}},
		},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			ts := &v1alpha1.TaskSchedule{ObjectMeta: metav1.ObjectMeta{UID: "u1", Generation: 2}}
			ts.Spec.Suspend = ptr.To(tc.suspend)
			setTaskScheduleStatus(ts, ownedTasks(ts, tasks), tc.res, tc.err)
			for i := range ts.Status.Conditions {
				ts.Status.Conditions[i].LastTransitionTime = metav1.Time{}
			}
			if !reflect.DeepEqual(ts.Status, tc.want) {
				t.Errorf("status =\n%+v, want\n%+v", ts.Status, tc.want)
			}
		})
	}
}

func TestLastFinishedOutlivesItsTask(t *testing.T) {
	done := metav1.NewTime(time.Date(2026, 12, 7, 3, 0, 0, 0, time.UTC))
	kept := &v1alpha1.FinishedTaskReference{TaskReference: v1alpha1.TaskReference{Name: "s-9", ID: 9}, State: v1alpha1.TaskStateSucceeded, CompletionTime: &done}
	ts := &v1alpha1.TaskSchedule{ObjectMeta: metav1.ObjectMeta{UID: "u1"}}
	ts.Status.LastFinished = kept.DeepCopy()
	// The cap deleted s-9; an older finished Task remains.
	older := scheduledTask("s-1", "u1", v1alpha1.TaskStateFailed, 1, "2026-12-07T01:00:00Z")
	setLastFinished(ts, ownedTasks(ts, []v1alpha1.Task{older}))
	if !reflect.DeepEqual(ts.Status.LastFinished, kept) {
		t.Errorf("lastFinished = %+v, want %+v kept", ts.Status.LastFinished, kept)
	}
}
