package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ConcurrencyPolicy says what a TaskSchedule does at a tick while a Task it
// started is still running, as a CronJob's concurrencyPolicy does.
// +kubebuilder:validation:Enum=Allow;Forbid;Replace
type ConcurrencyPolicy string

const (
	// ConcurrencyAllow starts the tick's Task alongside the running ones.
	ConcurrencyAllow ConcurrencyPolicy = "Allow"
	// ConcurrencyForbid skips the tick while one of the schedule's Tasks
	// runs.
	ConcurrencyForbid ConcurrencyPolicy = "Forbid"
	// ConcurrencyReplace cancels the running Tasks, then starts the tick's.
	ConcurrencyReplace ConcurrencyPolicy = "Replace"
)

// TaskScheduleSpec starts a Task of an App at each tick of a cron schedule.
type TaskScheduleSpec struct {
	// appRef names the App, in the schedule's namespace, whose Tasks the
	// schedule starts.
	// +required
	AppRef AppReference `json:"appRef,omitzero"`

	// schedule is a standard five-field cron expression, for example
	// "0 3 * * *" (03:00 every day) or "*/15 * * * *", or a descriptor such
	// as "@hourly". The time zone goes in timeZone, not in the string.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=128
	Schedule string `json:"schedule,omitempty"`

	// timeZone is the IANA time zone the schedule is read in, for example
	// "Europe/Berlin". When unset, the schedule is read in UTC.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=64
	TimeZone *string `json:"timeZone,omitempty"`

	// template is the Task each tick starts. It is checked, when the
	// schedule is written, exactly as such a Task would be.
	// +required
	Template TaskTemplate `json:"template"`

	// suspend stops the schedule starting Tasks; running ones go on.
	// +optional
	Suspend *bool `json:"suspend,omitempty"`

	// concurrencyPolicy is Allow, Forbid (skip a tick while a Task of the
	// schedule runs) or Replace (cancel it and start the tick's).
	// +optional
	// +default="Allow"
	ConcurrencyPolicy ConcurrencyPolicy `json:"concurrencyPolicy,omitempty"`

	// startingDeadlineSeconds is how late, in seconds, a missed tick may
	// still start, for example after the manager was down. A tick later
	// than that is skipped. When unset, the most recent missed tick starts
	// however late it is. At most one missed tick is ever started.
	// +optional
	// +kubebuilder:validation:Minimum=0
	StartingDeadlineSeconds *int64 `json:"startingDeadlineSeconds,omitempty"`
}

// TaskTemplate is the Task a schedule starts: its labels and annotations,
// and its spec without the App, which is the schedule's.
type TaskTemplate struct {
	// metadata holds the labels and annotations of each Task.
	// +optional
	Metadata TaskTemplateMetadata `json:"metadata,omitempty"`

	// spec is the Task's spec without appRef.
	// +optional
	Spec TaskTemplateSpec `json:"spec,omitempty"`
}

// TaskTemplateMetadata is the part of a Task's metadata a template sets.
type TaskTemplateMetadata struct {
	// labels are added to each Task. taskgate.dev/ labels are taskgate's.
	// +optional
	// +kubebuilder:validation:MaxProperties=64
	Labels map[string]string `json:"labels,omitempty"`

	// annotations are added to each Task.
	// +optional
	// +kubebuilder:validation:MaxProperties=64
	Annotations map[string]string `json:"annotations,omitempty"`
}

// TaskTemplateSpec holds the fields of TaskSpec a scheduled run may set,
// with TaskSpec's Go types. The schema bounds only sizes; every other rule
// of a Task (CEL, policy, access) is applied when the schedule is admitted
// by validating the very Task a tick would create.
type TaskTemplateSpec struct {
	// displayName is each Task's spec.displayName.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	DisplayName string `json:"displayName,omitempty"`

	// command is each Task's spec.command; when empty the App's start
	// command runs.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=8192
	Command string `json:"command,omitempty"`

	// cpu is each Task's spec.cpu.
	// +optional
	CPU *resource.Quantity `json:"cpu,omitempty"`

	// memory is each Task's spec.memory.
	// +optional
	Memory *resource.Quantity `json:"memory,omitempty"`

	// disk is each Task's spec.disk.
	// +optional
	Disk *resource.Quantity `json:"disk,omitempty"`

	// env is each Task's spec.env.
	// +optional
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=128
	Env []corev1.EnvVar `json:"env,omitempty"`

	// timeout is each Task's spec.timeout, for example 30m.
	// +optional
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:MaxLength=64
	Timeout *metav1.Duration `json:"timeout,omitempty"`

	// retries is each Task's spec.retries.
	// +optional
	Retries *int32 `json:"retries,omitempty"`
}

// TaskReference names a Task of the referrer's namespace.
type TaskReference struct {
	// name of the Task.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name,omitempty"`

	// id is the Task's ID within its App.
	// +optional
	// +kubebuilder:validation:Minimum=1
	ID int64 `json:"id,omitempty"`
}

// FinishedTaskReference names a finished Task and says how it ended.
type FinishedTaskReference struct {
	TaskReference `json:",inline"`

	// state is Succeeded, Failed or Cancelled.
	// +optional
	State TaskState `json:"state,omitempty"`

	// completionTime is when the Task finished.
	// +optional
	CompletionTime *metav1.Time `json:"completionTime,omitempty"`
}

// TaskScheduleStatus is the observed state of a TaskSchedule.
type TaskScheduleStatus struct {
	// conditions describe the schedule. Ready is True while it starts
	// Tasks at its ticks.
	// +optional
	// +patchStrategy=merge
	// +patchMergeKey=type
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=8
	Conditions []metav1.Condition `json:"conditions,omitempty" patchStrategy:"merge" patchMergeKey:"type"`

	// lastScheduleTime is the last tick at which a Task was started.
	// +optional
	LastScheduleTime *metav1.Time `json:"lastScheduleTime,omitempty"`

	// nextScheduleTime is the next tick, unless suspended.
	// +optional
	NextScheduleTime *metav1.Time `json:"nextScheduleTime,omitempty"`

	// active are the schedule's Tasks that have not finished.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=64
	Active []TaskReference `json:"active,omitempty"`

	// lastFinished is the schedule's Task that finished last.
	// +optional
	LastFinished *FinishedTaskReference `json:"lastFinished,omitempty"`

	// observedGeneration is the spec generation the status describes.
	// +optional
	// +kubebuilder:validation:Minimum=1
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
}

// TaskSchedule starts a Task of an App at each tick of a cron schedule,
// as Kf's job schedules do. Each Task is named <schedule>-<minutes since
// the epoch of its tick>, labelled taskgate.dev/schedule, gets its App's
// next ID and falls under the per-App cap and Task TTL like any Task.
// Deleting a schedule deletes none of its Tasks: they are owned by their
// App too, and the garbage collector keeps an object while one owner
// remains.
// The name has at most 52 characters, as a CronJob's, so that the Task
// names fit the 63 of a label value.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:validation:XValidation:rule="self.metadata.name.size() <= 52",message="a TaskSchedule's name must have at most 52 characters: its Tasks are named <name>-<minutes since the epoch> and a Task's name has at most 63",fieldPath=".metadata"
// +kubebuilder:resource:shortName=ts;tgschedule,categories=taskgate
// +kubebuilder:printcolumn:name="App",type=string,JSONPath=`.spec.appRef.name`
// +kubebuilder:printcolumn:name="Schedule",type=string,JSONPath=`.spec.schedule`
// +kubebuilder:printcolumn:name="Time Zone",type=string,JSONPath=`.spec.timeZone`
// +kubebuilder:printcolumn:name="Suspend",type=boolean,JSONPath=`.spec.suspend`
// +kubebuilder:printcolumn:name="Active",type=string,JSONPath=`.status.active[*].name`,description="The schedule's Tasks that have not finished"
// +kubebuilder:printcolumn:name="Last Schedule",type=date,JSONPath=`.status.lastScheduleTime`
// +kubebuilder:printcolumn:name="Next",type=string,JSONPath=`.status.nextScheduleTime`,description="The next tick, in UTC"
// +kubebuilder:printcolumn:name="Last State",type=string,JSONPath=`.status.lastFinished.state`,description="How the schedule's last finished Task ended"
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type TaskSchedule struct {
	metav1.TypeMeta `json:",inline"`
	// metadata is the standard object metadata.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec says which Task to start, and when.
	// +required
	Spec TaskScheduleSpec `json:"spec,omitzero"`

	// status is the schedule's observed state.
	// +optional
	Status TaskScheduleStatus `json:"status,omitempty"`
}

// TaskScheduleList is a list of TaskSchedules.
// +kubebuilder:object:root=true
type TaskScheduleList struct {
	metav1.TypeMeta `json:",inline"`
	// +optional
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []TaskSchedule `json:"items"`
}
