package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// DesiredState says whether a Task should run or be cancelled.
// +kubebuilder:validation:Enum=Run;Cancelled
type DesiredState string

const (
	// DesiredStateRun lets the Task run to completion.
	DesiredStateRun DesiredState = "Run"
	// DesiredStateCancelled asks taskgate to cancel the Task. It cannot be
	// withdrawn.
	DesiredStateCancelled DesiredState = "Cancelled"
)

// TaskState is where a Task is in its lifecycle.
// +kubebuilder:validation:Enum=Pending;Running;Succeeded;Failed;Cancelled
type TaskState string

const (
	// TaskStatePending: the Task is accepted but its pod is not running yet.
	TaskStatePending TaskState = "Pending"
	// TaskStateRunning: the Task's pod is running.
	TaskStateRunning TaskState = "Running"
	// TaskStateSucceeded: the command exited with status 0.
	TaskStateSucceeded TaskState = "Succeeded"
	// TaskStateFailed: the command failed, timed out or never started.
	TaskStateFailed TaskState = "Failed"
	// TaskStateCancelled: the Task was cancelled on request.
	TaskStateCancelled TaskState = "Cancelled"
)

// IsFinished reports whether the state is final.
func (s TaskState) IsFinished() bool {
	return s == TaskStateSucceeded || s == TaskStateFailed || s == TaskStateCancelled
}

// TaskSpec asks for one run of an App. Its environment and command are
// bounded as the App's are (see AppSpec), and for the same reasons.
// +kubebuilder:validation:XValidation:rule="has(self.command) == has(oldSelf.command)",message="command cannot be added or removed after the Task is created; create a new Task instead",fieldPath=".command"
// +kubebuilder:validation:XValidation:rule="has(self.displayName) == has(oldSelf.displayName)",message="displayName cannot be added or removed after the Task is created",fieldPath=".displayName"
// +kubebuilder:validation:XValidation:rule="has(self.cpu) == has(oldSelf.cpu) && has(self.memory) == has(oldSelf.memory) && has(self.disk) == has(oldSelf.disk)",message="cpu, memory and disk cannot be added or removed after the Task is created; create a new Task instead"
// +kubebuilder:validation:XValidation:rule="has(self.env) == has(oldSelf.env)",message="env cannot be added or removed after the Task is created; create a new Task instead",fieldPath=".env"
// +kubebuilder:validation:XValidation:rule="has(self.timeout) == has(oldSelf.timeout) && has(self.retries) == has(oldSelf.retries)",message="timeout and retries cannot be added or removed after the Task is created; create a new Task instead"
// +kubebuilder:validation:XValidation:rule="has(self.resolved) == has(oldSelf.resolved)",message="resolved is written by taskgate at creation and is immutable",fieldPath=".resolved"
// +kubebuilder:validation:XValidation:rule="(has(self.env) ? self.env.map(e, e.name.size() + (has(e.value) ? e.value.size() : 0)).sum() : 0) + (has(self.command) ? self.command.size() : 0) <= 65536",message="env names and values and command must total at most 65536 characters; put larger configuration in a ConfigMap or Secret and use the App's envFrom or a service binding"
type TaskSpec struct {
	// appRef names the App, in the Task's own namespace, whose
	// configuration the Task runs with. It cannot change after creation.
	// +required
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="appRef is immutable; create a new Task to run another App"
	AppRef AppReference `json:"appRef,omitzero"`

	// displayName is a human-readable name for the run, for example
	// "migrate-2026-11". It need not be unique.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="displayName is immutable"
	DisplayName string `json:"displayName,omitempty"`

	// command is the shell command the Task runs in place of the App's
	// start command (spec.args of the App), for example
	// "bundle exec rake db:migrate". It is run as `/bin/sh -c <command>` in
	// the App's image, or as `<launcher> <command>` when the App sets
	// spec.launcher. When empty, the App's start command runs.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=8192
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="command is immutable; create a new Task to run another command"
	Command string `json:"command,omitempty"`

	// cpu overrides the App's CPU for this run, for example 500m. It sets
	// request and limit together.
	// +optional
	// +kubebuilder:validation:XValidation:rule="quantity(string(self)).isGreaterThan(quantity('0'))",message="must be greater than 0, for example 500m or 2"
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="cpu is immutable; create a new Task instead"
	CPU *resource.Quantity `json:"cpu,omitempty"`

	// memory overrides the App's memory for this run, for example 512Mi or
	// 1Gi. It sets request and limit together.
	// +optional
	// +kubebuilder:validation:XValidation:rule="quantity(string(self)).isGreaterThan(quantity('0'))",message="must be greater than 0, for example 512Mi or 1Gi"
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="memory is immutable; create a new Task instead"
	Memory *resource.Quantity `json:"memory,omitempty"`

	// disk overrides the App's ephemeral storage for this run, for example
	// 2Gi. It sets request and limit together.
	// +optional
	// +kubebuilder:validation:XValidation:rule="quantity(string(self)).isGreaterThan(quantity('0'))",message="must be greater than 0, for example 1Gi"
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="disk is immutable; create a new Task instead"
	Disk *resource.Quantity `json:"disk,omitempty"`

	// env adds environment variables to the App's. An entry wins over the
	// App's variable of the same name. A value may have 32768 characters,
	// as in the App's spec.env.
	// +optional
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=128
	// +kubebuilder:validation:XValidation:rule="self.all(e, !has(e.value) || e.value.size() <= 32768)",message="each env value must have at most 32768 characters; put larger data in a ConfigMap or Secret and mount it as a file"
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="env is immutable; create a new Task instead"
	Env []corev1.EnvVar `json:"env,omitempty"`

	// timeout bounds the run, for example 30m or 2h. 0s means no limit.
	// When unset, cluster policy supplies the default.
	// +optional
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:MaxLength=64
	// +kubebuilder:validation:XValidation:rule="self.matches('^(0|-?([0-9]+([.][0-9]*)?(ns|us|µs|ms|s|m|h))+)$')",message="must be a duration such as 90s, 30m or 1h30m"
	// +kubebuilder:validation:XValidation:rule="!self.matches('^(0|-?([0-9]+([.][0-9]*)?(ns|us|µs|ms|s|m|h))+)$') || duration(self) >= duration('0s')",message="must not be negative; use 0s for no limit"
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="timeout is immutable; create a new Task instead"
	Timeout *metav1.Duration `json:"timeout,omitempty"`

	// retries is how many times a failed run is retried before the Task
	// fails.
	// +optional
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=10
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="retries is immutable; create a new Task instead"
	Retries *int32 `json:"retries,omitempty"`

	// ttlSecondsAfterFinished deletes the Task, with its PipelineRun, pod
	// and logs, this many seconds after it finishes. Cluster policy may
	// supply it at creation, and shorten it when the Task finishes: the
	// TTL in force then is status.ttlSecondsAfterFinished. It may be
	// changed at any time.
	// +optional
	// +kubebuilder:validation:Minimum=0
	TTLSecondsAfterFinished *int32 `json:"ttlSecondsAfterFinished,omitempty"`

	// desiredState is Run, or Cancelled to terminate the Task. Cancelling is
	// final: it cannot be set back to Run.
	// +optional
	// +default="Run"
	// +kubebuilder:validation:XValidation:rule="oldSelf != 'Cancelled' || self == 'Cancelled'",message="a cancel request cannot be withdrawn; create a new Task to run again"
	DesiredState DesiredState `json:"desiredState,omitempty"`

	// resolved is the pod configuration the Task runs with, inherited from
	// its App and written by taskgate's admission webhook when the Task is
	// created. It pins the run to what the App said at that moment. Any
	// value supplied on create is replaced; it cannot change afterwards.
	// The validating webhook, not CEL, keeps it so: a CEL rule comparing
	// the whole tree would run on every status write.
	// +optional
	Resolved *ResolvedRun `json:"resolved,omitempty"`
}

// AppReference names an App in the referrer's namespace. There is no
// namespace field: a Task can only run an App of its own namespace.
type AppReference struct {
	// name of the App.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	Name string `json:"name,omitempty"`
}

// ResolvedRun is the complete pod configuration of one Task run: the App's
// configuration at the Task's creation, with the Task's overrides and
// cluster policy applied.
//
// Its bounds are the App's and the Task's together, so that whatever the
// webhook resolves from an admitted App and Task fits: the environment,
// command and args may total the App's 65536 characters and the Task's
// 65536, plus 1024 for what taskgate adds (SERVICE_BINDING_ROOT,
// VCAP_SERVICES, VCAP_APPLICATION of at most about 450 characters for a
// 63-character App name, /bin/sh -c).
// +kubebuilder:validation:XValidation:rule="(has(self.env) ? self.env.map(e, e.name.size() + (has(e.value) ? e.value.size() : 0)).sum() : 0) + (has(self.command) ? self.command.map(c, c.size()).sum() : 0) + (has(self.args) ? self.args.map(a, a.size()).sum() : 0) <= 132096",message="env names and values, command and args must total at most 132096 characters, the App's and the Task's limits together"
type ResolvedRun struct {
	// image is the App's image.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=512
	Image string `json:"image,omitempty"`

	// command is the container entrypoint: the App's (64 items of 4096
	// characters), or /bin/sh -c or the App's launcher, and the Task's
	// command (8192).
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MaxLength=8192
	Command []string `json:"command,omitempty"`

	// args are the arguments to the entrypoint: the start command.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=256
	// +kubebuilder:validation:items:MaxLength=4096
	Args []string `json:"args,omitempty"`

	// workingDir is the container's working directory.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=4096
	WorkingDir string `json:"workingDir,omitempty"`

	// env is the App's environment merged with the Task's: the App's 256
	// entries, SERVICE_BINDING_ROOT, VCAP_SERVICES and VCAP_APPLICATION,
	// and the Task's 128.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=387
	// +kubebuilder:validation:XValidation:rule="self.all(e, !has(e.value) || e.value.size() <= 32768)",message="each env value must have at most 32768 characters"
	Env []corev1.EnvVar `json:"env,omitempty"`

	// envFrom is the App's envFrom.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=32
	EnvFrom []corev1.EnvFromSource `json:"envFrom,omitempty"`

	// resources are the container's requests and limits.
	// +optional
	Resources corev1.ResourceRequirements `json:"resources,omitempty"`

	// volumes are the pod's volumes: one per service binding.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=64
	Volumes []corev1.Volume `json:"volumes,omitempty"`

	// volumeMounts mount the volumes into the container.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=64
	VolumeMounts []corev1.VolumeMount `json:"volumeMounts,omitempty"`

	// podLabels are added to the pod: the App, and its 32 security groups.
	// +optional
	// +kubebuilder:validation:MaxProperties=64
	PodLabels map[string]string `json:"podLabels,omitempty"`

	// serviceAccountName is the pod's ServiceAccount.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	ServiceAccountName string `json:"serviceAccountName,omitempty"`

	// imagePullSecrets are the pod's image pull Secrets.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=16
	ImagePullSecrets []corev1.LocalObjectReference `json:"imagePullSecrets,omitempty"`

	// podSecurityContext is the pod's security context.
	// +optional
	PodSecurityContext *corev1.PodSecurityContext `json:"podSecurityContext,omitempty"`

	// securityContext is the container's security context.
	// +optional
	SecurityContext *corev1.SecurityContext `json:"securityContext,omitempty"`

	// timeout bounds the run; 0s means no limit.
	// +optional
	Timeout *metav1.Duration `json:"timeout,omitempty"`
}

// TaskStatus is the observed state of a Task, mirrored from its PipelineRun,
// TaskRun and pod.
type TaskStatus struct {
	// conditions describe the Task. Succeeded is Unknown while it runs,
	// then True or False with a reason.
	// +optional
	// +patchStrategy=merge
	// +patchMergeKey=type
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=8
	Conditions []metav1.Condition `json:"conditions,omitempty" patchStrategy:"merge" patchMergeKey:"type"`

	// id is the Task's sequence number within its App: 1, 2, 3...
	// +optional
	// +kubebuilder:validation:Minimum=1
	ID int64 `json:"id,omitempty"`

	// state is Pending, Running, Succeeded, Failed or Cancelled.
	// +optional
	State TaskState `json:"state,omitempty"`

	// observedGeneration is the spec generation the status describes.
	// +optional
	// +kubebuilder:validation:Minimum=1
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// startTime is when the Task started running.
	// +optional
	StartTime *metav1.Time `json:"startTime,omitempty"`

	// completionTime is when the Task finished.
	// +optional
	CompletionTime *metav1.Time `json:"completionTime,omitempty"`

	// duration is how long the Task ran, from startTime to completionTime.
	// +optional
	Duration *metav1.Duration `json:"duration,omitempty"`

	// pipelineRunName is the Tekton PipelineRun that runs the Task.
	// +optional
	// +kubebuilder:validation:MinLength=1
	PipelineRunName string `json:"pipelineRunName,omitempty"`

	// podName is the pod that ran the Task; `kubectl logs` it while the
	// Task exists.
	// +optional
	// +kubebuilder:validation:MinLength=1
	PodName string `json:"podName,omitempty"`

	// exitCode is the command's exit status.
	// +optional
	ExitCode *int32 `json:"exitCode,omitempty"`

	// failureReason says why the Task failed, for example
	// "Exited with status 127".
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=1024
	FailureReason string `json:"failureReason,omitempty"`

	// ttlSecondsAfterFinished is the TTL in force since the Task finished:
	// spec.ttlSecondsAfterFinished, or what the completion-time TTL policy
	// made of it. The Task is deleted this many seconds after it finished.
	// Unset while the Task runs, and when neither gives one.
	// +optional
	// +kubebuilder:validation:Minimum=0
	TTLSecondsAfterFinished *int32 `json:"ttlSecondsAfterFinished,omitempty"`

	// ttlDecision is the completion-time TTL policy's decision that set
	// ttlSecondsAfterFinished, for example "set ttlSecondsAfterFinished=3600
	// (rule succeeded-hour)". Empty when no completion rule decided it.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=1024
	TTLDecision string `json:"ttlDecision,omitempty"`
}

// The Task fields the API server selects on (the CRD's selectableFields):
// `kubectl get tasks --field-selector spec.appRef.name=shop,status.id=3`
// finds Task 3 of App shop with no label on the Task, which would cost a
// write of its own once the ID is known.
const (
	// FieldTaskApp selects the Tasks of an App.
	FieldTaskApp = "spec.appRef.name"
	// FieldTaskID selects a Task by its ID, once its status shows it.
	FieldTaskID = "status.id"
)

// The printer columns are the table of `kubectl get tasks` and of
// `kubectl task list`, which asks the server for the same Table:
// cf tasks' columns, then taskgate's. JSONPath cannot compute, so two
// columns show only what the object holds, and are empty otherwise:
// Duration once the Task has ended (Started and Age tell how long a
// running one has run), and Command when the Task has its own (else it
// runs its App's start command, which `kubectl task get` shows). The App
// is shown by default, since a namespace's Tasks are of several Apps and
// their IDs repeat. -o wide adds the exit code, pod and failure reason.
// The server lists by name; the plugin sorts the rows by App and ID.
// +kubebuilder:printcolumn:name="ID",type=integer,JSONPath=`.status.id`,description="The Task's number within its App: 1, 2, 3..."
// +kubebuilder:printcolumn:name="App",type=string,JSONPath=`.spec.appRef.name`
// +kubebuilder:printcolumn:name="Display Name",type=string,JSONPath=`.spec.displayName`
// +kubebuilder:printcolumn:name="State",type=string,JSONPath=`.status.state`
// +kubebuilder:printcolumn:name="Started",type=string,JSONPath=`.status.startTime`,description="When the Task's command started, in UTC"
// +kubebuilder:printcolumn:name="Duration",type=string,JSONPath=`.status.duration`,description="How long the Task ran, once it ended"
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:printcolumn:name="Exit Code",type=integer,JSONPath=`.status.exitCode`,priority=1
// +kubebuilder:printcolumn:name="Pod",type=string,JSONPath=`.status.podName`,priority=1
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.failureReason`,priority=1
// +kubebuilder:printcolumn:name="Command",type=string,JSONPath=`.spec.command`,description="The Task's own command; empty when it runs its App's start command"

// Task is one run of an App's code: a database migration, a batch job, an
// email send. It inherits the App's image, start command, environment,
// service bindings, resources and security groups, runs its command and
// stops.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:selectablefield:JSONPath=`.spec.appRef.name`
// +kubebuilder:selectablefield:JSONPath=`.status.id`
// +kubebuilder:validation:XValidation:rule="self.metadata.name.size() <= 63",message="a Task's name must have at most 63 characters: its PipelineRun and pod carry it in the label taskgate.dev/task, and a label value has at most 63",fieldPath=".metadata"
// +kubebuilder:resource:shortName=tgtask,categories=taskgate
type Task struct {
	metav1.TypeMeta `json:",inline"`
	// metadata is the standard object metadata.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec asks for the run.
	// +required
	Spec TaskSpec `json:"spec,omitzero"`

	// status is the run's observed state.
	// +optional
	Status TaskStatus `json:"status,omitempty"`
}

// TaskList is a list of Tasks.
// +kubebuilder:object:root=true
type TaskList struct {
	metav1.TypeMeta `json:",inline"`
	// +optional
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Task `json:"items"`
}
