package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// JobTTLParamsName is the one JobTTLParams the manager writes, in its own
// namespace, and the chart's admission policy bindings read.
const JobTTLParamsName = "taskgate-job-ttl"

// JobTTLParamsSpec is the Job part of the taskgate policy, compiled for the
// admission policies that set a new Job's ttlSecondsAfterFinished inside
// kube-apiserver. Everything a decision needs is decided here in advance:
// globs are names, prefixes or regular expressions, label selectors lists
// of requirements,
// and each rule's bounded TTLs and decision messages are computed, so the
// policies' CEL only matches and picks.
type JobTTLParamsSpec struct {
	// audit true makes the policies only record and warn what they
	// would set, as the policy's mode: audit does.
	// +optional
	Audit *bool `json:"audit,omitempty"`

	// overrideExplicit true replaces a TTL the Job's author set, as
	// ttl.explicit: Override does.
	// +optional
	OverrideExplicit *bool `json:"overrideExplicit,omitempty"`

	// optOutLabel is the label that, with the value "disabled" on a Job or
	// its namespace, exempts the Job.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=317
	OptOutLabel string `json:"optOutLabel,omitempty"`

	// exemptNamespaces are the namespaces TTL policy never touches:
	// kube-system, kube-node-lease, the manager's own and
	// exemptions.namespaces.
	// +optional
	ExemptNamespaces *NamespaceMatch `json:"exemptNamespaces,omitempty"`

	// rules are the policy's rules for Jobs, in its order.
	// +optional
	// +kubebuilder:validation:MaxItems=64
	// +listType=atomic
	Rules []JobTTLParamsRule `json:"rules,omitempty"`
}

// JobTTLParamsRule is one TTL rule of the policy that applies to Jobs.
type JobTTLParamsRule struct {
	// name is the rule's name in the policy.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name,omitempty"`

	// when is Created, Succeeded, Failed or Finished.
	// +required
	// +kubebuilder:validation:Enum=Created;Succeeded;Failed;Finished
	When string `json:"when,omitempty"`

	// ttlSecondsAfterFinished is the rule's own TTL, before any bound: of
	// the rules that could decide a Job, the one with the largest wins.
	// +required
	// +kubebuilder:validation:Minimum=0
	TTLSecondsAfterFinished *int32 `json:"ttlSecondsAfterFinished,omitempty"`

	// namespaces are the rule's namespaces. Unset matches every
	// namespace.
	// +optional
	Namespaces *NamespaceMatch `json:"namespaces,omitempty"`

	// namespaceSelector must all hold for the namespace's labels.
	// +optional
	// +kubebuilder:validation:MaxItems=32
	// +listType=atomic
	NamespaceSelector []LabelRequirement `json:"namespaceSelector,omitempty"`

	// selector must all hold for the Job's labels.
	// +optional
	// +kubebuilder:validation:MaxItems=32
	// +listType=atomic
	Selector []LabelRequirement `json:"selector,omitempty"`

	// includeOperatorJobs lets the rule apply to Jobs owned by something
	// other than a CronJob.
	// +optional
	IncludeOperatorJobs *bool `json:"includeOperatorJobs,omitempty"`

	// plain is what the rule writes on a Job that is not a deploy tool's
	// hook.
	// +required
	Plain JobTTLOutcome `json:"plain,omitzero"`

	// hook is what the rule writes on a Helm or Argo CD hook Job.
	// +required
	Hook JobTTLOutcome `json:"hook,omitzero"`
}

// JobTTLOutcome is what a rule writes: the bounded TTL and the decision
// messages, made by the same code as the manager's.
type JobTTLOutcome struct {
	// ttlSecondsAfterFinished is the TTL after minSeconds, maxSeconds and
	// hookFloorSeconds.
	// +required
	// +kubebuilder:validation:Minimum=0
	TTLSecondsAfterFinished *int32 `json:"ttlSecondsAfterFinished,omitempty"`

	// set is the decision for a Job that had no TTL.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	Set string `json:"set,omitempty"`

	// replace is the decision for a Job whose TTL policy replaces.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	Replace string `json:"replace,omitempty"`
}

// NamespaceMatch is a list of namespace globs, each compiled to the
// cheapest test that matches the same names: a glob without wildcards to
// a name, one whose only wildcard is a trailing * to a prefix, any other
// to an anchored RE2 expression. kube-apiserver compiles a regular
// expression that comes from params on every evaluation, so only the
// globs that need one get one. A namespace matches when any entry does.
type NamespaceMatch struct {
	// names are namespaces matched exactly.
	// +optional
	// +kubebuilder:validation:MaxItems=64
	// +listType=atomic
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=512
	Names []string `json:"names,omitempty"`

	// prefixes match the namespaces that start with them.
	// +optional
	// +kubebuilder:validation:MaxItems=64
	// +listType=atomic
	// +kubebuilder:validation:items:MaxLength=512
	Prefixes []string `json:"prefixes,omitempty"`

	// patterns are anchored RE2 expressions.
	// +optional
	// +kubebuilder:validation:MaxItems=64
	// +listType=atomic
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=512
	Patterns []string `json:"patterns,omitempty"`
}

// LabelRequirement is one requirement of a label selector, with
// matchLabels written as In with one value.
type LabelRequirement struct {
	// key is the label's key.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=317
	Key string `json:"key,omitempty"`

	// operator is In, NotIn, Exists or DoesNotExist.
	// +required
	// +kubebuilder:validation:Enum=In;NotIn;Exists;DoesNotExist
	Operator string `json:"operator,omitempty"`

	// values are the values In and NotIn compare with.
	// +optional
	// +kubebuilder:validation:MaxItems=32
	// +listType=atomic
	// +kubebuilder:validation:items:MaxLength=63
	Values []string `json:"values,omitempty"`
}

// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Namespaced,categories=taskgate

// JobTTLParams holds the parameters of the chart's admission policies for
// Jobs. The manager writes it from the policy ConfigMap; an edit by hand is
// overwritten.
type JobTTLParams struct {
	metav1.TypeMeta `json:",inline"`

	// metadata is the standard object metadata.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the compiled policy.
	// +required
	Spec JobTTLParamsSpec `json:"spec,omitzero"`
}

// +kubebuilder:object:root=true

// JobTTLParamsList is a list of JobTTLParams.
type JobTTLParamsList struct {
	metav1.TypeMeta `json:",inline"`
	// metadata is the standard list metadata.
	// +optional
	metav1.ListMeta `json:"metadata,omitempty"`
	// items are the JobTTLParams.
	Items []JobTTLParams `json:"items"`
}
