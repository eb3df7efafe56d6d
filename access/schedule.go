package access

import (
	"github.com/taskgate/taskgate/api/v1alpha1"
)

// Resource and group of Tasks, as RBAC spells them.
const (
	ResourceTasks = "tasks"
	GroupTaskgate = "taskgate.dev"
)

const (
	whySchedule = "a TaskSchedule creates Tasks for you, with the manager's identity, so writing one needs create on tasks"
	fixSchedule = "ask for that permission"
)

// TaskScheduleNeeds returns what writing a TaskSchedule needs: create on
// tasks in its namespace, and whatever creating the Task a tick starts,
// task, would need of its writer (TaskNeeds), at the template's fields.
// The manager creates that Task with its own identity, so without these
// anyone who may write a schedule could borrow the manager's rights.
func TaskScheduleNeeds(ts *v1alpha1.TaskSchedule, task *v1alpha1.Task, app *v1alpha1.App) []Need {
	needs := []Need{{
		Field: specPath.Child("template"), Group: GroupTaskgate, Verb: VerbCreate, Resource: ResourceTasks,
		Namespace: ts.Namespace, Why: whySchedule, Fix: fixSchedule,
	}}
	return append(needs, taskNeedsAt(task, app, specPath.Child("template", "spec"))...)
}
