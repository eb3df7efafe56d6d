package reconciler

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/taskgate/taskgate/api/v1alpha1"
)

// ownedTasks are the Tasks of tasks that ts controls, by UID: a label
// alone could be any Task's, or a former schedule's of the same name.
func ownedTasks(ts *v1alpha1.TaskSchedule, tasks []v1alpha1.Task) []*v1alpha1.Task {
	var owned []*v1alpha1.Task
	for i := range tasks {
		if c := metav1.GetControllerOfNoCopy(&tasks[i]); c != nil && c.UID == ts.UID {
			owned = append(owned, &tasks[i])
		}
	}
	return owned
}

// setTaskScheduleStatus computes the status from the Tasks and the pass.
func setTaskScheduleStatus(ts *v1alpha1.TaskSchedule, owned []*v1alpha1.Task, res tickResult, runErr error) {
	ts.Status.ObservedGeneration = ts.Generation
	ts.Status.NextScheduleTime = timePtr(res.next)
	setActive(ts, owned, res.started)
	setLastFinished(ts, owned)
	setReadyCondition(ts, res, runErr)
}

// setActive lists the unfinished Tasks by name, with the one just started.
func setActive(ts *v1alpha1.TaskSchedule, owned []*v1alpha1.Task, started string) {
	var active []v1alpha1.TaskReference
	for _, t := range owned {
		if !t.Status.State.IsFinished() {
			active = append(active, v1alpha1.TaskReference{Name: t.Name, ID: t.Status.ID})
		}
	}
	if started != "" && !slices.ContainsFunc(active, func(r v1alpha1.TaskReference) bool { return r.Name == started }) {
		active = append(active, v1alpha1.TaskReference{Name: started})
	}
	slices.SortFunc(active, func(a, b v1alpha1.TaskReference) int { return strings.Compare(a.Name, b.Name) })
	// The schema's bound: a schedule with more running is shown the first.
	ts.Status.Active = active[:min(len(active), 64)]
}

// setLastFinished names the Task that finished last; the previous one
// stays when the cap or TTL has deleted every finished Task.
func setLastFinished(ts *v1alpha1.TaskSchedule, owned []*v1alpha1.Task) {
	var last *v1alpha1.Task
	for _, t := range owned {
		if !t.Status.State.IsFinished() || t.Status.CompletionTime == nil {
			continue
		}
		if last == nil || t.Status.CompletionTime.After(last.Status.CompletionTime.Time) ||
			(t.Status.CompletionTime.Equal(last.Status.CompletionTime) && t.Name > last.Name) {
			last = t
		}
	}
	if last == nil {
		return
	}
	if prev := ts.Status.LastFinished; prev != nil && prev.CompletionTime != nil && prev.CompletionTime.After(last.Status.CompletionTime.Time) {
		return
	}
	ts.Status.LastFinished = &v1alpha1.FinishedTaskReference{
		TaskReference:  v1alpha1.TaskReference{Name: last.Name, ID: last.Status.ID},
		State:          last.Status.State,
		CompletionTime: last.Status.CompletionTime,
	}
}

// setReadyCondition says whether the schedule starts Tasks at its ticks.
func setReadyCondition(ts *v1alpha1.TaskSchedule, res tickResult, runErr error) {
	c := metav1.Condition{Type: v1alpha1.ConditionReady, ObservedGeneration: ts.Generation}
	switch {
	case res.invalid != nil:
		c.Status, c.Reason = metav1.ConditionFalse, v1alpha1.TaskScheduleReasonInvalidSchedule
		c.Message = fmt.Sprintf("spec.schedule or spec.timeZone does not parse: %v; fix the schedule", res.invalid)
	case ptrTrue(ts.Spec.Suspend):
		c.Status, c.Reason = metav1.ConditionFalse, v1alpha1.TaskScheduleReasonSuspended
		c.Message = "No Task starts while spec.suspend is true"
	case runErr != nil:
		c.Status, c.Reason = metav1.ConditionFalse, v1alpha1.TaskScheduleReasonTaskCreateFailed
		c.Message = fmt.Sprintf("The last tick's Task could not be created: %v", runErr)
	default:
		c.Status, c.Reason = metav1.ConditionTrue, v1alpha1.TaskScheduleReasonScheduled
		c.Message = "A Task starts at each tick"
	}
	meta.SetStatusCondition(&ts.Status.Conditions, c)
}

func ptrTrue(b *bool) bool { return b != nil && *b }

func timePtr(t time.Time) *metav1.Time {
	if t.IsZero() {
		return nil
	}
	mt := metav1.NewTime(t.UTC())
	return &mt
}
