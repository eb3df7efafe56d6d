package v1alpha1

// Labels and annotations that taskgate reads or writes. They are part of the
// API: admins select on them in NetworkPolicies and policy rules.
const (
	// LabelApp names the App a Task or Job belongs to. On a batch/v1 Job it
	// asks the webhook to inject that App's configuration.
	LabelApp = "taskgate.dev/app"
	// LabelTaskID carries a Task's per-app ID on its PipelineRun, TaskRun
	// and pod, set when the PipelineRun is created. The Task itself has
	// its ID in status.id, selectable as FieldTaskID.
	LabelTaskID = "taskgate.dev/task-id"
	// LabelTask names the Task that a PipelineRun or pod runs.
	LabelTask = "taskgate.dev/task"
	// LabelSecurityGroupPrefix prefixes one pod label per security group,
	// for example taskgate.dev/sg-public-egress: "true".
	LabelSecurityGroupPrefix = "taskgate.dev/sg-"
	// LabelCompletionDecided marks a finished batch/v1 Job whose
	// completion-time TTL taskgate has written. The manager watches only
	// Jobs without it, so the finished Jobs of a cluster, its most
	// numerous objects, cost the manager no memory.
	LabelCompletionDecided = "taskgate.dev/completion-decided"
	// LabelRunRecorded marks a finished Task's PipelineRun and TaskRun once
	// they are done and the Task's final status is written from them. The
	// manager watches only runs without it, so finished runs kept until
	// their Task's TTL or the cap cost the manager no memory.
	LabelRunRecorded = "taskgate.dev/run-recorded"
	// LabelSchedule names the TaskSchedule that started a Task:
	// `kubectl get tasks -l taskgate.dev/schedule=NAME` is its history.
	LabelSchedule = "taskgate.dev/schedule"
)
