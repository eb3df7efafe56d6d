package webhook

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"

	admissionv1 "k8s.io/api/admission/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/taskgate/taskgate/access"
	"github.com/taskgate/taskgate/api/v1alpha1"
	"github.com/taskgate/taskgate/facts"
	"github.com/taskgate/taskgate/inherit"
	"github.com/taskgate/taskgate/policy"
	"github.com/taskgate/taskgate/workload"
)

var (
	specPath   = field.NewPath("spec")
	appRefName = specPath.Child("appRef", "name")
)

// TaskDefaulter writes a new Task's resolved pod configuration, inherited
// from its App, with the policy's TTL and timeout, so the run is pinned to
// what the App said at that moment. It is a plain handler rather than a
// typed Defaulter because it returns admission warnings.
type TaskDefaulter struct {
	Policy     facts.PolicySource
	Apps       AppGetter
	Namespaces facts.NamespaceLabels
	// NamespaceUIDs gives the namespace's UID, VCAP_APPLICATION's
	// space_id; nil leaves space_id out.
	NamespaceUIDs facts.NamespaceUID
	Decided       facts.Decided
	// Images reads image labels to find a Task's launcher where policy
	// tasks.launcherDetection allows; nil reads none.
	Images ImageLaunchers
	// PullSecrets reads the App's imagePullSecrets for Images; nil reads
	// images anonymously.
	PullSecrets PullSecrets
	// Workloads reads the container an App's spec.from names; nil reads
	// none, and such Apps' Tasks are refused.
	Workloads Workloads
}

// Handle answers one AdmissionReview for a Task.
func (h *TaskDefaulter) Handle(ctx context.Context, req admission.Request) admission.Response {
	if resp, done := notCreateOf(req, taskKind); done {
		return resp
	}
	task := &v1alpha1.Task{}
	if err := json.Unmarshal(req.Object.Raw, task); err != nil || task.Spec.AppRef.Name == "" {
		// The CRD schema, which runs after mutation, rejects the Task
		// with the field path and reason; an error here would hide them.
		return admission.Allowed("")
	}
	if task.Namespace == "" {
		task.Namespace = req.Namespace
	}
	warnings, err := h.Default(ctx, task)
	if err != nil {
		return denied(err)
	}
	out, err := json.Marshal(task)
	if err != nil {
		return admission.Errored(http.StatusInternalServerError, fmt.Errorf("encoding Task: %w", err))
	}
	return admission.PatchResponseFromRaw(req.Object.Raw, out).WithWarnings(warnings...)
}

// Default resolves the Task in place and returns the admission warnings.
// Running it again on its own output changes nothing.
func (h *TaskDefaulter) Default(ctx context.Context, task *v1alpha1.Task) ([]string, error) {
	p := h.Policy.Current()
	f, err := taskSources{h.Apps, h.Namespaces, h.NamespaceUIDs, h.Workloads}.read(ctx, task)
	if err != nil {
		return nil, err
	}
	app, ns, w := f.app, f.ns, f.workload
	launcher, launcherWarning := h.taskLauncher(ctx, p, inherit.WithWorkload(app, w), task)
	resolveApp := app
	if launcher != "" {
		resolveApp = inherit.WithLauncher(app, launcher)
	}
	res := inherit.ResolveTaskFrom(resolveApp, w, task, p, ns)
	if launcher != "" {
		res.Warnings = inherit.DetectedLauncherWarnings(res.Warnings)
	}
	if launcherWarning != "" {
		res.Warnings = append(res.Warnings, launcherWarning)
	}
	res.CheckSecurityGroups(app, ns.Labels, p)
	h.decided(policy.KindTask, res.Resources.Rule, res.Resources.Outcome)
	h.decided(policy.KindTask, res.Timeout.Rule, res.Timeout.Outcome)
	if len(res.Errors) > 0 {
		return nil, invalidTask(task, res.Errors)
	}
	warnings := res.Warnings
	// Only advice: the reconciler applies the allowlist when it makes the
	// pod, since the Task's metadata may change until then.
	warnings = append(warnings, p.TaskPodMetadata(task.Annotations, task.Labels).Warnings()...)
	if task.Spec.Resolved != nil && !inherit.Equal(task.Spec.Resolved, res.Resolved) {
		warnings = append(warnings, "spec.resolved is written by taskgate; the value supplied was replaced")
	}
	task.Spec.Resolved = res.Resolved
	if task.Labels == nil {
		task.Labels = map[string]string{}
	}
	task.Labels[v1alpha1.LabelApp] = app.Name
	// Deleting an App deletes its Tasks, as in Kf, and with them their
	// PipelineRuns, pods and logs.
	ownedBy := metav1.OwnerReference{APIVersion: v1alpha1.GroupVersion.String(), Kind: "App", Name: app.Name, UID: app.UID}
	if !slices.ContainsFunc(task.OwnerReferences, func(o metav1.OwnerReference) bool { return o.UID == app.UID }) {
		task.OwnerReferences = append(task.OwnerReferences, ownedBy)
	}

	d := p.CreationTTL(facts.Object(policy.KindTask, &task.ObjectMeta, ns.Labels, task.Spec.TTLSecondsAfterFinished))
	h.decided(policy.KindTask, d.Rule, d.Outcome)
	if ttl, ok := d.WriteTTL(); ok {
		if task.Spec.TTLSecondsAfterFinished != nil && *task.Spec.TTLSecondsAfterFinished != ttl {
			warnings = append(warnings, "taskgate: "+d.String())
		}
		task.Spec.TTLSecondsAfterFinished = &ttl
	} else if d.Audit && d.TTL != nil {
		warnings = append(warnings, "taskgate: "+d.String())
	}
	for k, v := range d.Annotations() {
		if task.Annotations == nil {
			task.Annotations = map[string]string{}
		}
		task.Annotations[k] = v
	}
	return warnings, nil
}

func (h *TaskDefaulter) decided(kind policy.ObjectKind, rule string, outcome policy.Outcome) {
	if rule != "" {
		h.Decided.Report(kind, rule, outcome)
	}
}

// TaskValidator checks Tasks on create and update.
type TaskValidator struct {
	Policy facts.PolicySource
	Apps   AppGetter
	// Access reviews what the sender may do; nil skips the review.
	Access access.Reviewer
	// Namespaces gives the Task's namespace labels, whose Pod Security
	// level the Task's pod must meet; nil applies the policy's alone.
	Namespaces facts.NamespaceLabels
	// NamespaceUIDs gives the namespace's UID, which the defaulter wrote
	// into VCAP_APPLICATION; nil expects none.
	NamespaceUIDs facts.NamespaceUID
	// Workloads reads the container an App's spec.from names, as the
	// defaulter did; nil reads none.
	Workloads Workloads
}

var _ admission.Validator[*v1alpha1.Task] = &TaskValidator{}

// ValidateCreate requires the App to exist, spec.resolved to be exactly
// what inheritance produces, so a pod setting cannot be smuggled in past
// the mutating webhook, and the sender to be allowed to read each Secret
// or ConfigMap the Task's env adds to its App's.
func (v *TaskValidator) ValidateCreate(ctx context.Context, task *v1alpha1.Task) (admission.Warnings, error) {
	f, err := taskSources{v.Apps, v.Namespaces, v.NamespaceUIDs, v.Workloads}.read(ctx, task)
	if err != nil {
		return nil, err
	}
	app, ns, w := f.app, f.ns, f.workload
	p := v.Policy.Current()
	res := inherit.ResolveTaskFrom(app, w, task, p, ns)
	if len(res.Errors) > 0 {
		return nil, invalidTask(task, res.Errors)
	}
	if !inherit.Equal(task.Spec.Resolved, res.Resolved) && !resolvedWithDetectedLauncher(app, w, task, p, ns) {
		return nil, invalidTask(task, field.ErrorList{field.Forbidden(specPath.Child("resolved"), fmt.Sprintf(
			"must be the configuration taskgate resolves from App %s; leave it unset (if App %s, the workload it is from or the policy just changed, create the Task again)",
			app.Name, app.Name))})
	}
	forbidden, err := senderLacks(ctx, v.Access, access.TaskNeeds(task, app))
	if err != nil {
		return nil, err
	}
	if len(forbidden) > 0 {
		return nil, invalidTask(task, forbidden)
	}
	return nil, nil
}

// ValidateUpdate refuses to cancel a finished Task, in Cloud Foundry's
// words, and to change spec.resolved. CEL in the CRD keeps every other
// spec field but the TTL immutable; comparing resolved, a whole pod's
// configuration, in CEL would cost the API server on every status write.
func (v *TaskValidator) ValidateUpdate(_ context.Context, old, task *v1alpha1.Task) (admission.Warnings, error) {
	var errs field.ErrorList
	cancelling := task.Spec.DesiredState == v1alpha1.DesiredStateCancelled && old.Spec.DesiredState != v1alpha1.DesiredStateCancelled
	if cancelling && old.Status.State.IsFinished() {
		errs = append(errs, field.Forbidden(specPath.Child("desiredState"),
			fmt.Sprintf("Task state is %s and therefore cannot be cancelled", old.Status.State)))
	}
	if !inherit.Equal(old.Spec.Resolved, task.Spec.Resolved) {
		errs = append(errs, field.Forbidden(specPath.Child("resolved"),
			"resolved is written by taskgate at creation and is immutable; create a new Task to run with the App's current configuration"))
	}
	if len(errs) > 0 {
		return nil, invalidTask(task, errs)
	}
	return nil, nil
}

// ValidateDelete allows every delete.
func (v *TaskValidator) ValidateDelete(context.Context, *v1alpha1.Task) (admission.Warnings, error) {
	return nil, nil
}

func appNotFound(task *v1alpha1.Task) *field.Error {
	return field.Invalid(appRefName, task.Spec.AppRef.Name, fmt.Sprintf(
		"App %s does not exist in namespace %s; create the App first (a Task runs an App of its own namespace)",
		task.Spec.AppRef.Name, task.Namespace))
}

func invalidTask(task *v1alpha1.Task, errs field.ErrorList) error {
	return apierrors.NewInvalid(v1alpha1.GroupVersion.WithKind("Task").GroupKind(), task.Name, errs)
}

// denied turns an error into a denial that keeps an API status's details.
func denied(err error) admission.Response {
	if status, ok := err.(apierrors.APIStatus); ok {
		s := status.Status()
		return admission.Response{AdmissionResponse: admissionv1.AdmissionResponse{Allowed: false, Result: &s}}
	}
	return admission.Errored(http.StatusInternalServerError, err)
}

// taskSources are where admitting a Task reads its facts.
type taskSources struct {
	apps      AppGetter
	labels    facts.NamespaceLabels
	uids      facts.NamespaceUID
	workloads Workloads
}

// taskFacts are what admitting a Task decides on, besides the policy.
type taskFacts struct {
	app      *v1alpha1.App
	ns       inherit.Namespace
	workload *workload.Container
}

// read gathers the Task's App, its namespace's labels (none without a
// reader) and UID, and the container the App's spec.from names. A missing
// App, or one whose workload cannot be used, makes the Task invalid.
func (s taskSources) read(ctx context.Context, task *v1alpha1.Task) (taskFacts, error) {
	var f taskFacts
	var err error
	if f.app, err = s.apps(ctx, task.Namespace, task.Spec.AppRef.Name); err != nil {
		return f, err
	}
	if f.app == nil {
		return f, invalidTask(task, field.ErrorList{appNotFound(task)})
	}
	if f.ns.Labels, err = s.labels.Get(ctx, task.Namespace); err != nil {
		return f, err
	}
	if f.ns.UID, err = s.uids.Get(ctx, task.Namespace); err != nil {
		return f, err
	}
	w, werr, err := s.workloads.read(ctx, f.app)
	if err != nil {
		return f, err
	}
	if werr != nil {
		return f, invalidTask(task, inherit.AppRefErrors(f.app, field.ErrorList{werr}))
	}
	f.workload = w
	return f, nil
}
