package schedule

import (
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/taskgate/taskgate/api/v1alpha1"
)

// TaskName names the Task of a tick: the schedule's name and the tick's
// minutes since the epoch, as the CronJob controller names Jobs, so that a
// create retried for the same tick is AlreadyExists, not a second run.
func TaskName(scheduleName string, tick time.Time) string {
	return fmt.Sprintf("%s-%d", scheduleName, tick.Unix()/60)
}

// NewTask builds the Task named name from the schedule's template: its
// App, its template's labels, annotations and spec, the label
// taskgate.dev/schedule, and the schedule as its controller. The owner
// reference does not block the schedule's deletion, and the admission
// webhook adds the App as a second owner: the garbage collector keeps an
// object while any owner exists, so deleting the schedule deletes no Task.
// A run started now (kubectl task run-now) is a Task built here too.
func NewTask(ts *v1alpha1.TaskSchedule, name string) *v1alpha1.Task {
	tpl := ts.Spec.Template.DeepCopy()
	labels := tpl.Metadata.Labels
	if labels == nil {
		labels = map[string]string{}
	}
	labels[v1alpha1.LabelSchedule] = ts.Name
	owner := metav1.NewControllerRef(ts, v1alpha1.GroupVersion.WithKind("TaskSchedule"))
	owner.BlockOwnerDeletion = ptr.To(false)
	return &v1alpha1.Task{
		TypeMeta: metav1.TypeMeta{APIVersion: v1alpha1.GroupVersion.String(), Kind: "Task"},
		ObjectMeta: metav1.ObjectMeta{
			Name:            name,
			Namespace:       ts.Namespace,
			Labels:          labels,
			Annotations:     tpl.Metadata.Annotations,
			OwnerReferences: []metav1.OwnerReference{*owner},
		},
		Spec: v1alpha1.TaskSpec{
			AppRef:      ts.Spec.AppRef,
			DisplayName: tpl.Spec.DisplayName,
			Command:     tpl.Spec.Command,
			CPU:         tpl.Spec.CPU,
			Memory:      tpl.Spec.Memory,
			Disk:        tpl.Spec.Disk,
			Env:         tpl.Spec.Env,
			Timeout:     tpl.Spec.Timeout,
			Retries:     tpl.Spec.Retries,
		},
	}
}

// runNowInfix follows a schedule's name in the generated names of runs
// started now. It has letters, so no such name is a tick's,
// <schedule>-<minutes since the epoch>, and it says where the run came
// from. The API server cuts a generateName to 58 characters, so after a
// schedule name of 52 "-manua" still precedes the random suffix.
const runNowInfix = "-manual-"

// RunNowTask builds a run started now, off the schedule (Kf's run-job,
// kubectl task run-now): the schedule's Task with a generated name,
// <schedule>-manual-<5 random characters>. Its creator creates it with
// their own identity, so the Task webhooks check them; the schedule counts
// it among its runs, for Forbid and Replace too, as the CronJob controller
// counts a Job made with kubectl create job --from.
func RunNowTask(ts *v1alpha1.TaskSchedule) *v1alpha1.Task {
	task := NewTask(ts, "")
	task.GenerateName = ts.Name + runNowInfix
	return task
}

// OnlySuspends reports whether changing a schedule's spec from old to
// spec does nothing but suspend it. That starts no Task, so it asks
// nothing of its writer beyond the patch; resuming, or any other change to
// what runs, is reviewed again as a new schedule is.
func OnlySuspends(old, spec *v1alpha1.TaskScheduleSpec) bool {
	if spec.Suspend == nil || !*spec.Suspend {
		return false
	}
	was := old.DeepCopy()
	was.Suspend = spec.Suspend
	return equality.Semantic.DeepEqual(was, spec)
}
