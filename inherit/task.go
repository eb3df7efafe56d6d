package inherit

import (
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/taskgate/taskgate/api/v1alpha1"
	"github.com/taskgate/taskgate/message"
	"github.com/taskgate/taskgate/policy"
	"github.com/taskgate/taskgate/workload"
)

// A Task's spec.command is one string, as in `cf run-task --command` and
// Kf, so a shell splits it.
const (
	shell     = "/bin/sh"
	shellFlag = "-c"
)

// WarningCommandReplacesEntrypoint is given when a Task's command replaces
// an App that sets its own command (entrypoint), which then does not run.
const WarningCommandReplacesEntrypoint = "spec.command runs as /bin/sh -c <command>; the App's command (entrypoint) and args are not used"

// Result is what ResolveTask decides for one Task.
type Result struct {
	// Resolved is the Task's pod configuration, for Task.spec.resolved. It
	// is filled in even when Errors is not empty, for diagnosis; a Task
	// with Errors must not be admitted.
	Resolved *v1alpha1.ResolvedRun
	// Errors are rooted at the Task: spec.command, spec.cpu, spec.memory,
	// spec.disk, spec.timeout, and spec.appRef for problems of the App,
	// whose message names the App and the App's field.
	Errors field.ErrorList
	// Warnings are admission warnings, each shorter than 120 characters.
	// In audit mode they include what policy would have done or refused.
	Warnings []string
	// Resources is the policy decision on cpu, memory and disk.
	Resources policy.ResourceDecision
	// Timeout is the policy decision on the timeout.
	Timeout policy.TimeoutDecision
}

// Equal reports whether two resolved configurations are the same as the
// API server sees them: quantities by value, nil and empty lists alike. The
// validating webhook uses it to check that a Task's spec.resolved is what
// ResolveTask produces.
func Equal(a, b *v1alpha1.ResolvedRun) bool {
	return equality.Semantic.DeepEqual(a, b)
}

// ResolveTask returns the pod configuration a Task runs with: its App's
// configuration (AppPod) with the Task's overrides and cluster policy
// applied. It never reads task.spec.resolved, so a value a user supplied is
// simply replaced, and resolving again gives an equal result. A nil policy
// means policy.Default().
//
// Start command. With spec.command set, the container runs
// command ["/bin/sh", "-c", spec.command], or [launcher, spec.command]
// when the App sets spec.launcher (TaskCommand), and no args: the Task's
// command replaces the App's start command (args), and neither the App's
// command nor the image's ENTRYPOINT runs, as Kubernetes' command replaces
// ENTRYPOINT. The image must therefore have /bin/sh, or the launcher.
// Without spec.command the container runs the App's command and args. With
// neither, spec.command is required.
//
// Env is the App's (with SERVICE_BINDING_ROOT and VCAP_SERVICES), then the
// Task's: a Task entry replaces the App entry of its name in place, and
// new ones are appended in the Task's order.
//
// Resources start from the App's. Each of cpu, memory and disk the Task
// sets replaces the App's request and limit with the Task's value, so a
// request never exceeds an inherited limit (Kf's requests-only override
// made pods the API server rejects). Each that neither sets gets the policy
// default: memory and disk as request and limit; cpu as a request only,
// because CPU is compressible (going over slows a Task, never kills it) and
// a limit at a small default would throttle every Task that sets no cpu.
//
// Security contexts are the App's, else hardened defaults (runAsNonRoot,
// seccomp RuntimeDefault, no privilege escalation, drop ALL capabilities),
// which meet the restricted Pod Security Standard. An image that runs as
// root then needs the App to set runAsUser. The pod, as Tekton runs it
// (RunPod), must meet the stricter of the namespace's
// pod-security.kubernetes.io/enforce level (namespaceLabels) and the
// policy's tasks.podSecurity: each PodSecurity check it fails is an error
// at spec.appRef naming the App's field.
func ResolveTaskIn(app *v1alpha1.App, task *v1alpha1.Task, p *policy.Policy, namespaceLabels map[string]string) Result {
	return ResolveTaskInNamespace(app, task, p, Namespace{Labels: namespaceLabels})
}

// Namespace is what resolving a Task reads of its namespace.
type Namespace struct {
	// Labels give its Pod Security level.
	Labels map[string]string
	// UID is VCAP_APPLICATION's space_id.
	UID types.UID
}

// ResolveTaskInNamespace is ResolveTaskIn with the namespace's UID too,
// which VCAP_APPLICATION gives as space_id: what the webhooks write and
// check. The reconciler compares only security settings, so it resolves
// without the UID.
func ResolveTaskInNamespace(app *v1alpha1.App, task *v1alpha1.Task, p *policy.Policy, ns Namespace) Result {
	return ResolveTaskFrom(app, nil, task, p, ns)
}

// ResolveTaskFrom is ResolveTaskInNamespace for an App whose spec.from
// names w, the workload's container as read for this Task: the App as
// WithWorkload gives it, and the volumes WorkloadVolumes allows, mounted
// as the container mounts them. Errors in the workload are reported at
// spec.appRef, as the App's are, naming the workload. An App with
// spec.from and a nil w does not resolve.
func ResolveTaskFrom(app *v1alpha1.App, w *workload.Container, task *v1alpha1.Task, p *policy.Policy, ns Namespace) Result {
	if p == nil {
		p = policy.Default()
	}
	var r Result
	if app.Spec.From != nil && w == nil {
		r.appErrors(app, field.ErrorList{field.InternalError(fromPath, fmt.Errorf("%s was not read", workload.Name(*app.Spec.From)))})
	}
	withWorkload, pod, errs := workloadPod(app, w, p)
	r.appErrors(app, errs)
	app = withWorkload
	r.Resolved = appRun(app, pod)
	if w != nil && !w.Pinned && app.Spec.Image == w.Image {
		r.Warnings = append(r.Warnings, message.Warning(fmt.Sprintf(
			"no pod of %s reports a digest: the Task runs what %s names when it starts", w, w.Image)))
	}
	r.Resolved.Env = mergeEnv(pod.Env, task.Spec.Env)
	r.resolveCommand(app, &task.Spec)
	r.resolveResources(app, &task.Spec, p)
	r.Resolved.Env = appendIfAbsent(r.Resolved.Env, VCAPApplicationEnv(app, ns.UID, &r.Resolved.Resources))
	r.resolveTimeout(&task.Spec, p)
	r.resolveSecurity(app, pod, p, ns.Labels)
	r.checkLabels(app)
	return r
}

// ResolveTask is ResolveTaskIn a namespace with no Pod Security labels:
// only the policy's tasks.podSecurity applies.
func ResolveTask(app *v1alpha1.App, task *v1alpha1.Task, p *policy.Policy) Result {
	return ResolveTaskIn(app, task, p, nil)
}

// SecurityPaths are where an App sets what its pods may do.
var SecurityPaths = policy.PodSecurityPaths{
	Pod:                specPath,
	PodSecurityContext: specPath.Child("podSecurityContext"),
	SecurityContext:    specPath.Child("securityContext"),
	Volumes:            specPath.Child("serviceBindings"),
}

// ResolvedPaths are where a Task's spec.resolved sets what its pod may do.
var ResolvedPaths = policy.PodSecurityPaths{
	Pod:                specPath.Child("resolved"),
	PodSecurityContext: specPath.Child("resolved", "podSecurityContext"),
	SecurityContext:    specPath.Child("resolved", "securityContext"),
	Volumes:            specPath.Child("resolved", "volumes"),
}

// StepContainerName is the name Tekton gives the container of the step
// that runs a Task's command.
const StepContainerName = "step-main"

// RunPod returns the pod Tekton runs for a resolved run, as far as the
// run decides it: its labels, ServiceAccount, security contexts, pull
// Secrets, volumes and the one step container. Tekton adds its own init
// containers (its entrypoint binary), which no App or Task configures.
func RunPod(run *v1alpha1.ResolvedRun) (*metav1.ObjectMeta, *corev1.PodSpec) {
	r := run.DeepCopy()
	return &metav1.ObjectMeta{Labels: r.PodLabels}, &corev1.PodSpec{
		ServiceAccountName: r.ServiceAccountName,
		SecurityContext:    r.PodSecurityContext,
		ImagePullSecrets:   r.ImagePullSecrets,
		Volumes:            r.Volumes,
		Containers: []corev1.Container{{
			Name:            StepContainerName,
			Image:           r.Image,
			Command:         r.Command,
			Args:            r.Args,
			WorkingDir:      r.WorkingDir,
			Env:             r.Env,
			EnvFrom:         r.EnvFrom,
			Resources:       r.Resources,
			VolumeMounts:    r.VolumeMounts,
			SecurityContext: r.SecurityContext,
		}},
	}
}

// ValidateAppPodSecurity checks the pod an App's Tasks run (with the
// hardened defaults for what the App leaves unset) against the stricter
// of the namespace's Pod Security level and the policy's, at the App's
// own fields. In audit mode errors come back as warnings.
func ValidateAppPodSecurity(app *v1alpha1.App, p *policy.Policy, namespaceLabels map[string]string) (field.ErrorList, []string) {
	return ValidateAppPodSecurityFrom(app, nil, p, namespaceLabels)
}

// ValidateAppPodSecurityFrom is ValidateAppPodSecurity for an App whose
// spec.from names w, with the workload's container and volumes.
func ValidateAppPodSecurityFrom(app *v1alpha1.App, w *workload.Container, p *policy.Policy, namespaceLabels map[string]string) (field.ErrorList, []string) {
	app, pod, _ := workloadPod(app, w, p)
	run := appRun(app, pod)
	run.PodSecurityContext, run.SecurityContext = securityContexts(pod)
	meta, spec := RunPod(run)
	return p.ValidatePodSecurity(p.PodSecurityFor(namespaceLabels), meta, spec, SecurityPaths)
}

// workloadPod is the App as WithWorkload gives it and its AppPod with the
// volumes WorkloadVolumes allows, mounted as the container mounts them,
// after the bindings', whose indices Pod Security errors name; and the
// errors of the workload's volumes, at the App's fields.
func workloadPod(app *v1alpha1.App, w *workload.Container, p *policy.Policy) (*v1alpha1.App, PodConfig, field.ErrorList) {
	volumes, mounts, errs := WorkloadVolumes(w, p)
	errs = append(errs, validateVolumeNames(app, volumes)...)
	app = WithWorkload(app, w)
	pod := AppPod(app)
	pod.Volumes, pod.VolumeMounts = append(pod.Volumes, volumes...), append(pod.VolumeMounts, mounts...)
	return app, pod, errs
}

// appRun is the part of a resolved run every Task of the App shares,
// whatever the Task asks: image, working directory, envFrom, the binding
// volumes and mounts, labels, identity and pull Secrets.
func appRun(app *v1alpha1.App, pod PodConfig) *v1alpha1.ResolvedRun {
	return &v1alpha1.ResolvedRun{
		Image:              app.Spec.Image,
		WorkingDir:         app.Spec.WorkingDir,
		EnvFrom:            pod.EnvFrom,
		Volumes:            pod.Volumes,
		VolumeMounts:       pod.VolumeMounts,
		PodLabels:          pod.Labels,
		ServiceAccountName: pod.ServiceAccountName,
		ImagePullSecrets:   pod.ImagePullSecrets,
	}
}

// SecurityDifferences names the fields of spec.resolved that decide what
// a pod may do (its identity, security contexts, volumes and mounts,
// envFrom, pull Secrets and labels) on which got differs from want; nil
// when they agree. Image, command, env, resources and timeout may differ:
// a Task keeps the App as it was when the Task was created.
func SecurityDifferences(got, want *v1alpha1.ResolvedRun) []string {
	if got == nil || want == nil {
		if got != want {
			return []string{"resolved"}
		}
		return nil
	}
	fields := []struct {
		name      string
		got, want any
	}{
		{"serviceAccountName", got.ServiceAccountName, want.ServiceAccountName},
		{"podSecurityContext", got.PodSecurityContext, want.PodSecurityContext},
		{"securityContext", got.SecurityContext, want.SecurityContext},
		{"volumes", got.Volumes, want.Volumes},
		{"volumeMounts", got.VolumeMounts, want.VolumeMounts},
		{"envFrom", got.EnvFrom, want.EnvFrom},
		{"imagePullSecrets", got.ImagePullSecrets, want.ImagePullSecrets},
		{"podLabels", got.PodLabels, want.PodLabels},
	}
	var diff []string
	for _, f := range fields {
		if !equality.Semantic.DeepEqual(f.got, f.want) {
			diff = append(diff, f.name)
		}
	}
	return diff
}

var (
	specPath   = field.NewPath("spec")
	appRefPath = specPath.Child("appRef")
)

func (r *Result) resolveCommand(app *v1alpha1.App, task *v1alpha1.TaskSpec) {
	run := r.Resolved
	switch {
	case task.Command != "":
		run.Command = TaskCommand(app.Spec.Launcher, task.Command)
		switch {
		case len(app.Spec.Command) > 0 && app.Spec.Launcher != "":
			r.Warnings = append(r.Warnings, WarningCommandReplacesEntrypointLauncher)
		case len(app.Spec.Command) > 0:
			r.Warnings = append(r.Warnings, WarningCommandReplacesEntrypoint)
		}
		// The App's webhook checks this too; an App admitted before it
		// did must not start Tasks with a launcher path it would refuse.
		r.appErrors(app, ValidateLauncher(app.Spec.Launcher, specPath.Child("launcher")))
	case len(app.Spec.Command) == 0 && len(app.Spec.Args) == 0:
		r.Errors = append(r.Errors, field.Required(specPath.Child("command"),
			"no start command: set spec.command on the Task or args on App "+app.Name))
	default:
		run.Command = slices.Clone(app.Spec.Command)
		run.Args = slices.Clone(app.Spec.Args)
	}
}

// resourceKind ties a Task's cpu, memory or disk to its container resource.
type resourceKind struct {
	name string // as in policy and in Task spec
	key  corev1.ResourceName
	// defaultLimit: a policy default sets the limit too, not only the
	// request.
	defaultLimit bool
	task         func(*v1alpha1.TaskSpec) *resource.Quantity
	policy       func(*policy.Resources) **resource.Quantity
}

var resourceKinds = [...]resourceKind{
	{policy.ResourceCPU, corev1.ResourceCPU, false,
		func(t *v1alpha1.TaskSpec) *resource.Quantity { return t.CPU },
		func(r *policy.Resources) **resource.Quantity { return &r.CPU }},
	{policy.ResourceMemory, corev1.ResourceMemory, true,
		func(t *v1alpha1.TaskSpec) *resource.Quantity { return t.Memory },
		func(r *policy.Resources) **resource.Quantity { return &r.Memory }},
	{policy.ResourceDisk, corev1.ResourceEphemeralStorage, true,
		func(t *v1alpha1.TaskSpec) *resource.Quantity { return t.Disk },
		func(r *policy.Resources) **resource.Quantity { return &r.Disk }},
}

func (r *Result) resolveResources(app *v1alpha1.App, task *v1alpha1.TaskSpec, p *policy.Policy) {
	res := app.Spec.Resources.DeepCopy()
	// What runs for each resource, as policy wants it: the Task's value,
	// else the App's limit, else the App's request.
	var set policy.Resources
	inherited := map[string]bool{}
	for _, k := range resourceKinds {
		q := k.task(task)
		if q == nil {
			q = quantity(res.Limits, k.key)
			if q == nil {
				q = quantity(res.Requests, k.key)
			}
			inherited[k.name] = q != nil
		}
		*k.policy(&set) = q
	}
	d := p.ResolveTaskResources(set)
	r.Resources = d

	for _, k := range resourceKinds {
		if q := k.task(task); q != nil {
			setResource(res, k.key, *q, true)
		}
	}
	if d.Outcome == policy.OutcomeDefaulted && d.Audit {
		r.Warnings = append(r.Warnings, d.String())
	}
	if !d.Audit {
		for _, k := range resourceKinds {
			if slices.Contains(d.Defaulted, k.name) {
				setResource(res, k.key, **k.policy(&d.Resources), k.defaultLimit)
			}
		}
	}
	r.Resolved.Resources = *res

	errs, warnings := p.ValidateTaskResources(d.Resources, specPath)
	for _, e := range errs {
		for _, k := range resourceKinds {
			if inherited[k.name] && e.Field == specPath.Child(k.name).String() {
				e.Detail += fmt.Sprintf("; the value is App %s's, so set %s on the Task or lower the App's", app.Name, e.Field)
			}
		}
	}
	r.Errors = append(r.Errors, errs...)
	r.Warnings = append(r.Warnings, warnings...)
}

func quantity(l corev1.ResourceList, key corev1.ResourceName) *resource.Quantity {
	if q, ok := l[key]; ok {
		return &q
	}
	return nil
}

// setResource sets the request of key to q, and the limit too when
// withLimit; otherwise it leaves any limit as it is.
func setResource(res *corev1.ResourceRequirements, key corev1.ResourceName, q resource.Quantity, withLimit bool) {
	if res.Requests == nil {
		res.Requests = corev1.ResourceList{}
	}
	res.Requests[key] = q.DeepCopy()
	if withLimit {
		if res.Limits == nil {
			res.Limits = corev1.ResourceList{}
		}
		res.Limits[key] = q.DeepCopy()
	}
}

func (r *Result) resolveTimeout(task *v1alpha1.TaskSpec, p *policy.Policy) {
	d := p.ResolveTaskTimeout(task.Timeout)
	r.Timeout = d
	r.Resolved.Timeout = d.Timeout
	if d.Audit {
		// Audit reports the default and runs with what the Task set.
		r.Resolved.Timeout = task.Timeout.DeepCopy()
		if d.Outcome == policy.OutcomeDefaulted {
			r.Warnings = append(r.Warnings, d.String())
		}
	}
	errs, warnings := p.ValidateTaskTimeout(task.Timeout, specPath.Child("timeout"))
	r.Errors = append(r.Errors, errs...)
	r.Warnings = append(r.Warnings, warnings...)
}

func (r *Result) resolveSecurity(app *v1alpha1.App, pod PodConfig, p *policy.Policy, namespaceLabels map[string]string) {
	r.Resolved.PodSecurityContext, r.Resolved.SecurityContext = securityContexts(pod)
	errs, warnings := p.ValidatePrivileges(policy.SecurityContextUses(app.Spec.SecurityContext, specPath.Child("securityContext")))
	meta, spec := RunPod(r.Resolved)
	psErrs, psWarnings := p.ValidatePodSecurity(p.PodSecurityFor(namespaceLabels), meta, spec, SecurityPaths)
	r.appErrors(app, append(errs, psErrs...))
	for _, w := range append(warnings, psWarnings...) {
		r.Warnings = append(r.Warnings, message.Warning("App "+app.Name+": "+w))
	}
}

// securityContexts are the App's, else hardened defaults that meet the
// restricted Pod Security Standard.
func securityContexts(pod PodConfig) (*corev1.PodSecurityContext, *corev1.SecurityContext) {
	psc, sc := pod.PodSecurityContext, pod.SecurityContext
	if psc == nil {
		psc = &corev1.PodSecurityContext{
			RunAsNonRoot:   new(true),
			SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
		}
	}
	if sc == nil {
		sc = &corev1.SecurityContext{
			AllowPrivilegeEscalation: new(false),
			Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
			RunAsNonRoot:             new(true),
			SeccompProfile:           &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
		}
	}
	return psc, sc
}

// checkLabels reports an App whose name or security groups cannot label a
// pod. The API bounds security groups; App names may have 253 characters
// but a label value only 63.
func (r *Result) checkLabels(app *v1alpha1.App) {
	var errs field.ErrorList
	if msgs := validation.IsValidLabelValue(app.Name); len(msgs) > 0 {
		errs = append(errs, field.Invalid(field.NewPath("metadata", "name"), app.Name,
			"cannot be the value of pod label "+v1alpha1.LabelApp+": "+strings.Join(msgs, "; ")+"; Tasks need an App whose name can"))
	}
	for i, sg := range app.Spec.SecurityGroups {
		if msgs := validation.IsQualifiedName(v1alpha1.LabelSecurityGroupPrefix + sg); len(msgs) > 0 {
			errs = append(errs, field.Invalid(specPath.Child("securityGroups").Index(i), sg,
				"cannot name pod label "+v1alpha1.LabelSecurityGroupPrefix+sg+": "+strings.Join(msgs, "; ")))
		}
	}
	r.appErrors(app, errs)
}

// CheckSecurityGroups adds an error, at spec.appRef, for each of the App's
// security groups that policy tasks.securityGroups does not bind to the
// Task's namespace, with these labels. The App's own admission checks this
// too; checking again here stops an App admitted before a binding was
// removed from giving its groups to new Tasks. It is apart from
// ResolveTask because it needs the namespace's labels.
func (r *Result) CheckSecurityGroups(app *v1alpha1.App, nsLabels map[string]string, p *policy.Policy) {
	if p == nil {
		p = policy.Default()
	}
	errs, warnings := p.ValidateSecurityGroups(app.Spec.SecurityGroups, app.Namespace, nsLabels, specPath.Child("securityGroups"))
	r.appErrors(app, errs)
	for _, w := range warnings {
		r.Warnings = append(r.Warnings, message.Warning("App "+app.Name+": "+w))
	}
}

// appErrors adds errors found in the App. They are reported at the Task's
// spec.appRef, which brought the App in, with the App's own field in the
// message: "App shop: spec.securityContext.privileged: Forbidden: ...".
func (r *Result) appErrors(app *v1alpha1.App, errs field.ErrorList) {
	r.Errors = append(r.Errors, AppRefErrors(app, errs)...)
}

// AppRefErrors reports errors found in the App, or the workload it is
// from, at a Task's spec.appRef, which brought the App in, with the App's
// own field in the message.
func AppRefErrors(app *v1alpha1.App, errs field.ErrorList) field.ErrorList {
	out := make(field.ErrorList, 0, len(errs))
	for _, e := range errs {
		out = append(out, &field.Error{
			Type:     e.Type,
			Field:    appRefPath.String(),
			BadValue: field.OmitValueType{},
			Detail:   appName(app) + ": " + e.Error(),
		})
	}
	return out
}

// appName names the App in messages, and the workload it is from, whose
// fields the App's may be: "App web (from deployment/web)".
func appName(app *v1alpha1.App) string {
	if app.Spec.From != nil {
		return "App " + app.Name + " (from " + workload.Name(*app.Spec.From) + ")"
	}
	return "App " + app.Name
}
