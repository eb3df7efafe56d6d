package reconciler

import (
	"context"
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/taskgate/taskgate/api/v1alpha1"
	"github.com/taskgate/taskgate/facts"
	"github.com/taskgate/taskgate/inherit"
	"github.com/taskgate/taskgate/policy"
	"github.com/taskgate/taskgate/workload"
)

// RunFacts are what RunRefusal decides on, gathered by the reconciler.
type RunFacts struct {
	Task *v1alpha1.Task
	// App is the App the Task names, as it is now; nil when there is none.
	App *v1alpha1.App
	// NamespaceLabels are the labels of the Task's namespace.
	NamespaceLabels map[string]string
	Policy          *policy.Policy
	// Workload is the container the App's spec.from names, as it is now;
	// nil when the App has none. WorkloadError says why it could not be
	// used: the workload or its container is gone.
	Workload      *workload.Container
	WorkloadError *field.Error
}

var resolvedPath = field.NewPath("spec", "resolved")

// RunRefusal says why a Task must not run, or "" when it may.
//
// The webhooks already deny such Tasks. This is the second line for a Task
// they never saw: one in a namespace they skip (kube-system,
// kube-node-lease, the manager's own), or one admitted while they were
// bypassed (their configurations deleted or broken). The reconciler runs
// spec.resolved as it stands, so before anything runs it checks, in order:
//
//  1. that the namespace is one the webhooks admit Tasks in;
//  2. that the mutating webhook wrote spec.resolved;
//  3. that it gives the pod no power over its node, as policy says
//     (privileged, hostPath);
//  4. that the App the Task names is the one that owns it, and that what
//     decides what the pod may do (ServiceAccount, security contexts,
//     volumes and mounts, envFrom, pull Secrets, labels) is what that App
//     resolves to now, under today's policy; the image, command, env,
//     resources and timeout may differ, as the Task pins the App as it was
//     at creation;
//  5. that the pod meets the Pod Security level of the namespace and the
//     policy.
//
// In audit mode, 3 and 5 do not refuse, as they do not deny at admission.
func RunRefusal(f RunFacts) string {
	task, p := f.Task, f.Policy
	switch p.Exemption(facts.Object(policy.KindTask, &task.ObjectMeta, nil, nil)) {
	case policy.ExemptSystemNamespace, policy.ExemptManagerNamespace:
		return field.Forbidden(field.NewPath("metadata", "namespace"), fmt.Sprintf(
			"taskgate's webhooks do not admit Tasks in namespace %s, so taskgate runs none there; create the Task in an application namespace",
			task.Namespace)).Error()
	}
	run := task.Spec.Resolved
	if run == nil {
		return "spec.resolved: Required value: the Task was admitted without taskgate's mutating webhook; delete it and create it again"
	}
	uses := policy.SecurityContextUses(run.SecurityContext, resolvedPath.Child("securityContext"))
	uses = append(uses, policy.VolumeUses(run.Volumes, resolvedPath.Child("volumes"))...)
	if errs, _ := p.ValidatePrivileges(uses); len(errs) > 0 {
		return errs.ToAggregate().Error()
	}

	appRef := field.NewPath("spec", "appRef")
	name := task.Spec.AppRef.Name
	switch {
	case f.App == nil:
		return field.NotFound(appRef.Child("name"), name).Error() + "; the Task runs only with the App that owns it"
	case !OwnedBy(task, f.App.UID):
		return field.Forbidden(appRef, fmt.Sprintf(
			"App %s (uid %s) is not the App this Task was created for; create the Task again to run the App", name, f.App.UID)).Error()
	}
	if f.WorkloadError != nil {
		return inherit.AppRefErrors(f.App, field.ErrorList{f.WorkloadError}).ToAggregate().Error()
	}
	want := inherit.ResolveTaskFrom(f.App, f.Workload, task, p, inherit.Namespace{Labels: f.NamespaceLabels}).Resolved
	if diff := inherit.SecurityDifferences(run, want); diff != nil {
		changed := "the App"
		if from := f.App.Spec.From; from != nil {
			changed += " or " + workload.Name(*from)
		}
		return field.Forbidden(resolvedPath, fmt.Sprintf(
			"not what App %s resolves to now in %s: spec.resolved was not written by taskgate, or %s changed since; create the Task again",
			name, strings.Join(diff, ", "), changed)).Error()
	}
	meta, spec := inherit.RunPod(run)
	if errs, _ := p.ValidatePodSecurity(p.PodSecurityFor(f.NamespaceLabels), meta, spec, inherit.ResolvedPaths); len(errs) > 0 {
		return errs.ToAggregate().Error()
	}
	return ""
}

// runRefusal gathers RunFacts through the cache and decides. A refusal
// ends the Task, so one found on cached facts is decided again on live
// ones: a cache that has not seen the App yet, or its latest version, or
// the namespace's labels, must not refuse a Task the webhooks admitted.
func (r *TaskReconciler) runRefusal(ctx context.Context, task *v1alpha1.Task) (string, error) {
	facts, err := r.runFacts(ctx, r.Client, task)
	if err != nil {
		return "", err
	}
	if refusal := RunRefusal(facts); refusal == "" || r.APIReader == nil {
		return refusal, nil
	}
	if facts, err = r.runFacts(ctx, r.APIReader, task); err != nil {
		return "", err
	}
	return RunRefusal(facts), nil
}

func (r *TaskReconciler) runFacts(ctx context.Context, c client.Reader, task *v1alpha1.Task) (RunFacts, error) {
	f := RunFacts{Task: task, Policy: r.Policy.Current()}
	app := &v1alpha1.App{}
	err := c.Get(ctx, types.NamespacedName{Namespace: task.Namespace, Name: task.Spec.AppRef.Name}, app)
	switch {
	case err == nil:
		f.App = app
	case !apierrors.IsNotFound(err):
		return f, fmt.Errorf("reading App %s: %w", task.Spec.AppRef.Name, err)
	}
	switch ns, err := facts.ReadNamespace(ctx, c, task.Namespace); {
	case err == nil:
		f.NamespaceLabels = ns.Labels
	case !apierrors.IsNotFound(err):
		return f, err
	}
	if f.App != nil && f.App.Spec.From != nil {
		// Live, whichever reader: caching every workload of the cluster
		// for this one read before a run would cost far more.
		reader := workload.Reader{Client: r.liveReader(), Unpinned: true}
		if f.Workload, f.WorkloadError, err = reader.Read(ctx, task.Namespace, *f.App.Spec.From, field.NewPath("spec", "from")); err != nil {
			return f, err
		}
	}
	return f, nil
}

// liveReader reads the API server directly, where the reconciler has a
// reader that does.
func (r *TaskReconciler) liveReader() client.Reader {
	if r.APIReader != nil {
		return r.APIReader
	}
	return r.Client
}
