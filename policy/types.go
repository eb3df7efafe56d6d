package policy

import (
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Where the policy lives and what the document says it is.
const (
	// ConfigMapName is the ConfigMap, in the manager's namespace, that holds
	// the policy.
	ConfigMapName = "taskgate-policy"
	// ConfigMapKey is the ConfigMap data key that holds the policy document.
	ConfigMapKey = "policy.yaml"
	// APIVersion is the only apiVersion a policy document may declare.
	APIVersion = "taskgate.dev/v1alpha1"
	// DocumentKind is the only kind a policy document may declare.
	DocumentKind = "Policy"
)

// Policy is the cluster policy document. A *Policy returned by Load or held
// by a Store is shared between goroutines: treat it as read-only.
type Policy struct {
	// apiVersion must be taskgate.dev/v1alpha1.
	APIVersion string `json:"apiVersion"`
	// kind must be Policy.
	Kind string `json:"kind"`
	// mode is enforce (apply decisions) or audit (only report them).
	Mode Mode `json:"mode,omitempty"`
	// ttl governs ttlSecondsAfterFinished on Jobs and Tasks.
	TTL TTLPolicy `json:"ttl"`
	// tasks governs Task retention, resources, timeouts and privileges.
	Tasks TaskPolicy `json:"tasks"`
	// exemptions lists what TTL policy never touches.
	Exemptions Exemptions `json:"exemptions"`

	// ManagerNamespace is the namespace taskgate runs in. It is always
	// exempt. It is not part of the document: the Store sets it, because
	// only the running manager knows it.
	ManagerNamespace string `json:"-"`
}

// Mode says whether decisions are applied.
type Mode string

const (
	// ModeEnforce applies every decision.
	ModeEnforce Mode = "enforce"
	// ModeAudit changes nothing: callers report what they would have done,
	// as an annotation, an admission warning or a log line.
	ModeAudit Mode = "audit"
)

// ExplicitTTL says who wins when an object already carries a TTL its
// author set.
type ExplicitTTL string

const (
	// ExplicitRespect keeps the author's TTL (the default).
	ExplicitRespect ExplicitTTL = "Respect"
	// ExplicitOverride applies policy as if the object had no TTL of its
	// own.
	ExplicitOverride ExplicitTTL = "Override"
)

// TTLPolicy chooses ttlSecondsAfterFinished for Jobs and Tasks.
type TTLPolicy struct {
	// explicit is Respect or Override.
	Explicit ExplicitTTL `json:"explicit,omitempty"`
	// minSeconds is the least TTL policy chooses.
	MinSeconds *int32 `json:"minSeconds,omitempty"`
	// maxSeconds is the most TTL policy chooses; unset means no maximum.
	MaxSeconds *int32 `json:"maxSeconds,omitempty"`
	// hookFloorSeconds is the least TTL given to Helm and Argo CD hook
	// Jobs, whose tools watch them after they finish.
	HookFloorSeconds *int32 `json:"hookFloorSeconds,omitempty"`
	// completionGraceSeconds is the least time, from the moment policy
	// acts, before a finished object it shortens may be deleted.
	CompletionGraceSeconds *int32 `json:"completionGraceSeconds,omitempty"`
	// rules are evaluated in order; the first that matches wins.
	Rules []TTLRule `json:"rules,omitempty"`
}

// ObjectKind is a kind of object TTL policy governs.
type ObjectKind string

const (
	// KindJob is a batch/v1 Job.
	KindJob ObjectKind = "Job"
	// KindTask is a taskgate Task.
	KindTask ObjectKind = "Task"
)

// When is the moment a TTL rule applies to.
type When string

const (
	// WhenCreated gives the TTL written when the object is created.
	WhenCreated When = "Created"
	// WhenSucceeded gives the TTL once the object has succeeded.
	WhenSucceeded When = "Succeeded"
	// WhenFailed gives the TTL once the object has failed (a cancelled
	// Task counts as failed).
	WhenFailed When = "Failed"
	// WhenFinished gives the TTL once the object has succeeded or failed.
	WhenFinished When = "Finished"
)

// TTLRule gives objects that match it a ttlSecondsAfterFinished. An object
// matches when every matcher that is set matches.
type TTLRule struct {
	// name identifies the rule in decisions, annotations and metrics.
	Name string `json:"name"`
	// kinds are the kinds the rule applies to: Job, Task.
	Kinds []ObjectKind `json:"kinds"`
	// namespaces are names or path.Match globs; any one must match.
	Namespaces []string `json:"namespaces,omitempty"`
	// namespaceSelector must match the namespace's labels.
	NamespaceSelector *metav1.LabelSelector `json:"namespaceSelector,omitempty"`
	// selector must match the object's labels.
	Selector *metav1.LabelSelector `json:"selector,omitempty"`
	// when is Created, Succeeded, Failed or Finished.
	When When `json:"when"`
	// ttlSecondsAfterFinished is the TTL the rule gives.
	TTLSecondsAfterFinished *int32 `json:"ttlSecondsAfterFinished"`
	// includeOperatorJobs lets the rule apply to Jobs owned by something
	// other than a CronJob, which are otherwise exempt.
	IncludeOperatorJobs bool `json:"includeOperatorJobs,omitempty"`
}

// TaskPolicy governs Tasks.
type TaskPolicy struct {
	// cap bounds how many Tasks each App keeps.
	Cap TaskCapPolicy `json:"cap"`
	// resources gives defaults and ceilings for a Task's cpu, memory and
	// disk.
	Resources TaskResourcePolicy `json:"resources"`
	// timeout gives the default and the maximum run time of a Task.
	Timeout TaskTimeoutPolicy `json:"timeout"`
	// pendingDeadline fails a Task that is still Pending after this long.
	// 0s means never.
	PendingDeadline *metav1.Duration `json:"pendingDeadline,omitempty"`
	// allowPrivileged is a deprecated alias of podSecurity: privileged. It
	// may not be true with another podSecurity level.
	AllowPrivileged bool `json:"allowPrivileged"`
	// podSecurity is the least Pod Security Standard a Task's pod must
	// meet: privileged, baseline (the default) or restricted. A namespace
	// whose pod-security.kubernetes.io/enforce label is stricter wins.
	PodSecurity PodSecurityLevel `json:"podSecurity,omitempty"`
	// podMetadata lists the Task annotations and labels that reach its pod.
	PodMetadata PodMetadataPolicy `json:"podMetadata"`
	// securityGroups bind security groups to namespaces: an App may use a
	// group only where a binding names it. None are bound by default.
	SecurityGroups []SecurityGroupBinding `json:"securityGroups,omitempty"`
	// launcherDetection lists the registries whose image labels the
	// manager may read to find a buildpack (CNB) image's launcher. Empty,
	// the default, reads none.
	LauncherDetection LauncherDetectionPolicy `json:"launcherDetection"`
	// fromWorkloads governs what Tasks of an App with spec.from take from
	// the workload it names.
	FromWorkloads FromWorkloadsPolicy `json:"fromWorkloads"`
}

// FromWorkloadsPolicy governs what a Task takes from the workload (a
// Deployment, say) its App's spec.from names.
type FromWorkloadsPolicy struct {
	// allowPersistentVolumeClaims lets a Task mount the
	// PersistentVolumeClaims the workload's container mounts. Off by
	// default: the Task shares the claim with the running app, and a
	// ReadWriteOnce volume on another node keeps the Task from starting,
	// or, mounted by a Task first, the app's next pod.
	AllowPersistentVolumeClaims bool `json:"allowPersistentVolumeClaims,omitempty"`
}

// LauncherDetectionPolicy lets the manager read the config of images in
// the registries it lists, to run a Task's command through the launcher
// of a buildpack (CNB) image whose App names none. Reading one is an HTTP
// request from the manager to the registry an App's image names, which
// any App author chooses, so only registries an admin lists are read.
type LauncherDetectionPolicy struct {
	// registries are registry hosts, as an image reference names them:
	// host or host:port, exactly (ghcr.io, registry.example.com:5000);
	// docker.io stands for Docker Hub.
	Registries []string `json:"registries,omitempty"`
}

// PodMetadataPolicy is the allowlist of Task metadata copied to its pod.
// Annotations and labels on a pod can change what the node, a service
// mesh or a NetworkPolicy does with it, so none pass unless listed.
type PodMetadataPolicy struct {
	// annotations are annotation keys or path.Match globs (example.com/*).
	Annotations []string `json:"annotations,omitempty"`
	// labels are label keys or path.Match globs.
	Labels []string `json:"labels,omitempty"`
}

// SecurityGroupBinding lets the namespaces it matches use its groups. A
// namespace matches when every matcher that is set matches.
type SecurityGroupBinding struct {
	// name identifies the binding in errors.
	Name string `json:"name"`
	// groups are the security groups bound.
	Groups []string `json:"groups"`
	// namespaces are names or path.Match globs; any one must match.
	Namespaces []string `json:"namespaces,omitempty"`
	// namespaceSelector must match the namespace's labels.
	NamespaceSelector *metav1.LabelSelector `json:"namespaceSelector,omitempty"`
}

// TaskCapPolicy bounds how many Tasks each App keeps.
type TaskCapPolicy struct {
	// default is the number of newest Tasks kept per App.
	Default *int32 `json:"default,omitempty"`
	// overrides change the cap for some Apps; the first that matches wins.
	Overrides []CapOverride `json:"overrides,omitempty"`
}

// CapOverride sets the cap for the Apps it matches. An App matches when
// every matcher that is set matches.
type CapOverride struct {
	// name identifies the override in decisions and metrics.
	Name string `json:"name"`
	// namespaces are names or path.Match globs; any one must match.
	Namespaces []string `json:"namespaces,omitempty"`
	// namespaceSelector must match the namespace's labels.
	NamespaceSelector *metav1.LabelSelector `json:"namespaceSelector,omitempty"`
	// appSelector must match the App's labels.
	AppSelector *metav1.LabelSelector `json:"appSelector,omitempty"`
	// maxTasks is the number of newest Tasks kept per App.
	MaxTasks *int32 `json:"maxTasks"`
}

// TaskResourcePolicy gives defaults and ceilings for Task resources.
type TaskResourcePolicy struct {
	// defaults fill in what neither the Task nor its App sets. A default of
	// 0 leaves that resource unset.
	Defaults Resources `json:"defaults"`
	// ceilings are the most a Task may ask for; unset means no ceiling.
	Ceilings Resources `json:"ceilings"`
}

// Resources are the cpu, memory and disk (ephemeral storage) of one Task.
type Resources struct {
	CPU    *resource.Quantity `json:"cpu,omitempty"`
	Memory *resource.Quantity `json:"memory,omitempty"`
	Disk   *resource.Quantity `json:"disk,omitempty"`
}

// TaskTimeoutPolicy bounds how long a Task runs.
type TaskTimeoutPolicy struct {
	// default applies to Tasks that set no timeout; 0s means no limit.
	Default *metav1.Duration `json:"default,omitempty"`
	// max is the longest timeout a Task may ask for; unset means no max.
	Max *metav1.Duration `json:"max,omitempty"`
}

// Exemptions are objects TTL policy never touches, in addition to
// kube-system, kube-node-lease and the manager's own namespace.
type Exemptions struct {
	// namespaces are names or path.Match globs.
	Namespaces []string `json:"namespaces,omitempty"`
	// optOutLabel is the label that, with the value "disabled" on an object
	// or its namespace, exempts the object.
	OptOutLabel string `json:"optOutLabel,omitempty"`
}
