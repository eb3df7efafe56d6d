package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// AppSpec is the runtime configuration of a parent app. Every Task of the App
// inherits it, the way Cloud Foundry and Kf tasks inherit their app's
// environment, service bindings, resources, start command and security
// groups.
//
// The rule below bounds what every Task of the App copies into its
// spec.resolved and every manager replica keeps in memory: the environment
// (names and values) with command and args, at most 65536 characters. At up
// to 4 bytes a character that is 256 KiB, an eighth of Linux's usual 2 MiB
// ARG_MAX for a process's arguments and environment together, and twice the
// 32 KB Heroku allows all of an app's config vars. Larger configuration
// belongs in a ConfigMap or Secret (envFrom, or a service binding's files).
// +kubebuilder:validation:XValidation:rule="has(self.image) || has(self.from)",message="set image, or from to run a workload's container",fieldPath=".image",reason=FieldValueRequired
// +kubebuilder:validation:XValidation:rule="(has(self.env) ? self.env.map(e, e.name.size() + (has(e.value) ? e.value.size() : 0)).sum() : 0) + (has(self.command) ? self.command.map(c, c.size()).sum() : 0) + (has(self.args) ? self.args.map(a, a.size()).sum() : 0) <= 65536",message="env names and values, command and args must total at most 65536 characters; put larger configuration in a ConfigMap or Secret and use envFrom or a service binding"
// +kubebuilder:validation:MinProperties=1
type AppSpec struct {
	// from names a workload of the App's namespace (a Deployment,
	// StatefulSet, DaemonSet or CronJob) whose container the App's Tasks
	// run, so an app described as a workload is not described twice. At
	// each Task's creation taskgate reads that container (its image, by
	// digest where the workload's pods report one, command and args, env,
	// envFrom, resources, working directory, security contexts, the
	// Secret, ConfigMap, projected, downwardAPI and emptyDir volumes it
	// mounts, ServiceAccount and pull Secrets) and pins it in the Task's
	// spec.resolved. Every field the App sets itself wins over the
	// workload's; env entries win by name.
	// +optional
	From *WorkloadRef `json:"from,omitempty"`

	// image is the container image that the App's tasks run, for example
	// registry.example.com/shop/web@sha256:... Pin a digest so every task runs
	// the same code. Required unless from is set, whose container's image
	// it then replaces.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=512
	// +kubebuilder:validation:XValidation:rule="!self.contains(' ')",message="must be an image reference without spaces, for example registry.example.com/team/app:v1"
	Image string `json:"image,omitempty"`

	// command is the image's entrypoint, as in a container's command. When
	// empty, the image's own ENTRYPOINT is used.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MaxLength=4096
	Command []string `json:"command,omitempty"`

	// args is the App's start command, passed to the entrypoint. A Task
	// without its own spec.command runs these args; a Task with one
	// replaces them.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=256
	// +kubebuilder:validation:items:MaxLength=4096
	Args []string `json:"args,omitempty"`

	// launcher is the program in the image that runs a Task's
	// spec.command, for example /cnb/lifecycle/launcher in a buildpack
	// (CNB) image, which puts the buildpacks' environment (PATH to ruby
	// and bundler, profile.d scripts) in place first. A Task's command
	// then runs as [launcher, command], the command one argument, as
	// Cloud Foundry and Korifi run task commands. When empty, a Task's
	// command runs as /bin/sh -c <command>. It does not change the App's
	// own command and args, nor a Job labelled with the App.
	//
	// It is a path, not an enum of image kinds, because the launcher is a
	// file of the image and images put it in different places. It grants
	// nothing new: it names a file in the App's own image, run as the
	// App's user with the App's security context, which whoever may
	// create the App could already run as spec.command.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=4096
	// +kubebuilder:validation:XValidation:rule="self.startsWith('/')",message="must be an absolute path in the image, for example /cnb/lifecycle/launcher"
	Launcher string `json:"launcher,omitempty"`

	// workingDir is the directory tasks start in. When empty, the image's
	// WORKDIR is used.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=4096
	WorkingDir string `json:"workingDir,omitempty"`

	// env lists the environment variables every task of the App gets. A
	// Task's own spec.env wins over an entry of the same name. A value may
	// have 32768 characters: Linux refuses any one NAME=value string over
	// 128 KiB (MAX_ARG_STRLEN), and a character takes up to 4 bytes.
	// +optional
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=256
	// +kubebuilder:validation:XValidation:rule="self.all(e, !has(e.value) || e.value.size() <= 32768)",message="each env value must have at most 32768 characters; put larger data in a ConfigMap or Secret and mount it as a file"
	Env []corev1.EnvVar `json:"env,omitempty"`

	// envFrom fills the environment from ConfigMaps and Secrets in the
	// App's namespace.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=32
	EnvFrom []corev1.EnvFromSource `json:"envFrom,omitempty"`

	// resources are the requests and limits of each task's container. Disk
	// is ephemeral-storage. Cluster policy supplies defaults when this is
	// empty and caps what a Task may ask for.
	// +optional
	Resources corev1.ResourceRequirements `json:"resources,omitempty"`

	// serviceBindings bind backing services to the App. Each names a Secret
	// in the App's namespace; tasks see its keys as files under
	// $SERVICE_BINDING_ROOT/<name> (the servicebinding.io convention), with
	// the binding's type and provider files, and Cloud Foundry apps also
	// get VCAP_SERVICES.
	// +optional
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=64
	ServiceBindings []ServiceBinding `json:"serviceBindings,omitempty"`

	// securityGroups name the network security groups of the App. Each
	// becomes the pod label taskgate.dev/sg-<name>: "true" on every task,
	// for cluster admins' NetworkPolicies to select.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=32
	// +kubebuilder:validation:items:MaxLength=50
	// +kubebuilder:validation:items:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	SecurityGroups []string `json:"securityGroups,omitempty"`

	// serviceAccountName is the ServiceAccount tasks run as. When empty,
	// the namespace's default ServiceAccount is used. A Task cannot choose
	// another.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	ServiceAccountName string `json:"serviceAccountName,omitempty"`

	// imagePullSecrets name Secrets in the App's namespace used to pull
	// image.
	// +optional
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=16
	ImagePullSecrets []corev1.LocalObjectReference `json:"imagePullSecrets,omitempty"`

	// podSecurityContext is the pod-level security context of tasks. When
	// empty, tasks get a hardened default (runAsNonRoot, seccomp
	// RuntimeDefault).
	// +optional
	PodSecurityContext *corev1.PodSecurityContext `json:"podSecurityContext,omitempty"`

	// securityContext is the container security context of tasks. When
	// empty, tasks get a hardened default (drop ALL capabilities, no
	// privilege escalation).
	// +optional
	SecurityContext *corev1.SecurityContext `json:"securityContext,omitempty"`
}

// Kinds of workload an App's spec.from may name.
const (
	WorkloadDeployment  = "Deployment"
	WorkloadStatefulSet = "StatefulSet"
	WorkloadDaemonSet   = "DaemonSet"
	WorkloadCronJob     = "CronJob"
)

// WorkloadRef names one container of a workload in the App's namespace.
type WorkloadRef struct {
	// kind of the workload: Deployment, StatefulSet, DaemonSet (apps/v1) or
	// CronJob (batch/v1, its job template).
	// +required
	// +kubebuilder:validation:Enum=Deployment;StatefulSet;DaemonSet;CronJob
	Kind string `json:"kind,omitempty"`

	// name of the workload, in the App's namespace.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	Name string `json:"name,omitempty"`

	// container is the name of the pod template's container to run. When
	// empty, the one the template's kubectl.kubernetes.io/default-container
	// annotation names, else the first, as kubectl exec and logs choose.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Container string `json:"container,omitempty"`
}

// ServiceBinding binds one backing service, whose credentials are in a
// Secret, to an App.
type ServiceBinding struct {
	// name of the binding, unique within the App. Tasks find the Secret's
	// keys under $SERVICE_BINDING_ROOT/<name>.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Name string `json:"name,omitempty"`

	// secretName is the Secret, in the App's namespace, that holds the
	// binding's credentials.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	SecretName string `json:"secretName,omitempty"`

	// Service metadata (issue 26): what servicebinding.io clients read from
	// the type and provider files, and what Cloud Foundry puts in each
	// VCAP_SERVICES entry from the service offering. None of it grants
	// anything: it is text in the App's own pods, which the App's creator
	// could put there as env. The Secret's own type and provider keys win,
	// so that a provisioner's Secret describes itself.

	// type is the servicebinding.io type of the service, such as
	// postgresql, written to $SERVICE_BINDING_ROOT/<name>/type. It is used
	// only when the Secret has no type key and is not of Secret type
	// servicebinding.io/<type>; a binding must get a type from one of the
	// three.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$`
	Type string `json:"type,omitempty"`

	// provider is the servicebinding.io provider of the service, such as
	// bitnami, written to $SERVICE_BINDING_ROOT/<name>/provider and to
	// VCAP_SERVICES. It is used only when the Secret has no provider key.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$`
	Provider string `json:"provider,omitempty"`

	// label is the service's label in VCAP_SERVICES, which keys the
	// document and which cfenv libraries match on. When empty, the type.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$`
	Label string `json:"label,omitempty"`

	// plan is the service plan shown in VCAP_SERVICES. When unset, "".
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	Plan string `json:"plan,omitempty"`

	// tags are the service's tags in VCAP_SERVICES, which java-cfenv and
	// Spring Cloud Bindings match on, such as [postgres, relational].
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=16
	// +kubebuilder:validation:items:MaxLength=63
	Tags []string `json:"tags,omitempty"`
}

// AppStatus is the observed state of an App.
type AppStatus struct {
	// conditions describe the App. Ready is True when its configuration is
	// valid and its bindings resolve.
	// +optional
	// +patchStrategy=merge
	// +patchMergeKey=type
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=8
	Conditions []metav1.Condition `json:"conditions,omitempty" patchStrategy:"merge" patchMergeKey:"type"`

	// observedGeneration is the spec generation the conditions describe.
	// +optional
	// +kubebuilder:validation:Minimum=1
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// lastTaskID is the ID given to the App's most recent Task. IDs are
	// handed out in order 1, 2, 3... without gaps.
	// +optional
	// +kubebuilder:validation:Minimum=1
	LastTaskID int64 `json:"lastTaskID,omitempty"`

	// pendingTaskIDs lists the IDs that taskgate has given to Tasks which
	// may not show them in status.id yet. taskgate gives IDs to all of an
	// App's waiting Tasks in one write and records them here first, so that
	// if it stops before writing them to the Tasks, it writes these same IDs
	// when it starts again, and IDs keep no gaps. An entry is removed once
	// its Task shows the ID or is deleted.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=1000
	PendingTaskIDs []TaskIDGrant `json:"pendingTaskIDs,omitempty"`
}

// MaxPendingTaskIDs is the most entries status.pendingTaskIDs holds, as its
// MaxItems marker says: the most Tasks of an App that take IDs at once.
const MaxPendingTaskIDs = 1000

// TaskIDGrant records the ID given to one Task.
type TaskIDGrant struct {
	// name of the Task, in the App's namespace.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name,omitempty"`

	// uid of the Task, so that a Task created later under the same name
	// does not take the ID.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=36
	UID string `json:"uid,omitempty"`

	// id is the ID given to the Task.
	// +required
	// +kubebuilder:validation:Minimum=1
	ID int64 `json:"id,omitempty"`
}

// App is a parent app whose runtime configuration its Tasks inherit: image,
// start command, environment, service bindings, resources and security
// groups. Create Tasks that reference it to run one-off work such as a
// database migration.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:validation:XValidation:rule="self.metadata.name.size() <= 63",message="an App's name must have at most 63 characters: its Tasks' pods carry it in the label taskgate.dev/app, and a label value has at most 63",fieldPath=".metadata"
// +kubebuilder:resource:shortName=tgapp,categories=taskgate
// +kubebuilder:printcolumn:name="Image",type=string,JSONPath=`.spec.image`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Tasks",type=integer,JSONPath=`.status.lastTaskID`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type App struct {
	metav1.TypeMeta `json:",inline"`
	// metadata is the standard object metadata.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the App's runtime configuration.
	// +required
	Spec AppSpec `json:"spec,omitzero"`

	// status is the App's observed state.
	// +optional
	Status AppStatus `json:"status,omitempty"`
}

// AppList is a list of Apps.
// +kubebuilder:object:root=true
type AppList struct {
	metav1.TypeMeta `json:",inline"`
	// +optional
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []App `json:"items"`
}
