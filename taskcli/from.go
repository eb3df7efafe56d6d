package taskcli

import (
	"context"
	"fmt"
	"io"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/taskgate/taskgate/api/v1alpha1"
	"github.com/taskgate/taskgate/workload"
)

// fromArg is `run --from TYPE/NAME` as given, with --container: TYPE is
// still kubectl's spelling (deploy, sts, deployments.apps...), which only
// the server's RESTMapper turns into a kind.
type fromArg struct {
	resource, name, container string
}

// workloadKinds are the kinds --from takes, by their API group and kind.
var workloadKinds = map[schema.GroupKind]string{
	{Group: "apps", Kind: "Deployment"}:  v1alpha1.WorkloadDeployment,
	{Group: "apps", Kind: "StatefulSet"}: v1alpha1.WorkloadStatefulSet,
	{Group: "apps", Kind: "DaemonSet"}:   v1alpha1.WorkloadDaemonSet,
	{Group: "batch", Kind: "CronJob"}:    v1alpha1.WorkloadCronJob,
}

// fromKinds lists the kinds --from takes, for messages.
const fromKinds = "a Deployment, StatefulSet, DaemonSet or CronJob (deployment/NAME, statefulset/NAME, daemonset/NAME, cronjob/NAME, or deploy, sts, ds, cj)"

// runTarget reads which App `run` runs a Task of from its arguments and
// flags: the positional APP, or with --from the App named after the
// workload or by --app. from is nil without --from. It checks only what
// needs no cluster.
func runTarget(args []string, f *runFlags) (app string, from *fromArg, err error) {
	if f.from == "" {
		switch {
		case f.app != "":
			return "", nil, fmt.Errorf("--app names the App that --from creates or reuses; without --from, give the App as the first argument: kubectl task run APP -c COMMAND")
		case f.container != "":
			return "", nil, fmt.Errorf("--container chooses the container of the --from workload; without --from, the App says what its Tasks run")
		case len(args) == 0:
			return "", nil, fmt.Errorf("give the App to run a Task of (kubectl task run APP -c COMMAND), or the workload to run it from (kubectl task run --from deployment/NAME -c COMMAND)")
		}
		return args[0], nil, nil
	}
	if len(args) > 0 {
		return "", nil, fmt.Errorf("--from takes no App argument (got %q): the App is named after the workload, or by --app NAME; give the command with -c", args[0])
	}
	resource, name, ok := strings.Cut(f.from, "/")
	if !ok || resource == "" || name == "" || strings.Contains(name, "/") {
		return "", nil, fmt.Errorf("--from %q: want TYPE/NAME, such as deployment/web", f.from)
	}
	if errs := validation.IsDNS1123Subdomain(name); len(errs) > 0 {
		return "", nil, fmt.Errorf("--from %s: %q is not a workload name: %s", f.from, name, strings.Join(errs, "; "))
	}
	if f.container != "" {
		if errs := validation.IsDNS1123Label(f.container); len(errs) > 0 {
			return "", nil, fmt.Errorf("--container %q is not a container name: %s", f.container, strings.Join(errs, "; "))
		}
	}
	app = name
	if f.app != "" {
		if errs := validation.IsDNS1123Subdomain(f.app); len(errs) > 0 {
			return "", nil, fmt.Errorf("--app %q is not an App name: %s", f.app, strings.Join(errs, "; "))
		}
		app = f.app
	}
	return app, &fromArg{resource: resource, name: name, container: f.container}, nil
}

// workloadRef maps --from's TYPE through mapper, as kubectl maps a
// resource argument (deploy, sts, deployments.apps, deployment.v1.apps),
// to the workload it names; only the kinds spec.from takes are accepted.
func workloadRef(mapper meta.RESTMapper, from fromArg) (v1alpha1.WorkloadRef, error) {
	arg := from.resource + "/" + from.name
	fullySpecified, groupResource := schema.ParseResourceArg(strings.ToLower(from.resource))
	var gvk schema.GroupVersionKind
	if fullySpecified != nil {
		// deployment.v1.apps names a version; when no such version is
		// served, the rest is read as resource and group, as kubectl does.
		gvk, _ = mapper.KindFor(*fullySpecified)
	}
	if gvk.Empty() {
		var err error
		if gvk, err = mapper.KindFor(groupResource.WithVersion("")); err != nil {
			if meta.IsNoMatchError(err) {
				return v1alpha1.WorkloadRef{}, fmt.Errorf("--from %s: the server has no resource type %q; name %s", arg, from.resource, fromKinds)
			}
			return v1alpha1.WorkloadRef{}, fmt.Errorf("--from %s: %w", arg, err)
		}
	}
	kind, ok := workloadKinds[gvk.GroupKind()]
	if !ok {
		return v1alpha1.WorkloadRef{}, fmt.Errorf("--from %s: taskgate runs Tasks from %s, not a %s", arg, fromKinds, gvk.GroupKind())
	}
	return v1alpha1.WorkloadRef{Kind: kind, Name: from.name, Container: from.container}, nil
}

// describeRef says what a WorkloadRef runs, for messages.
func describeRef(ref v1alpha1.WorkloadRef) string {
	if ref.Container == "" {
		return workload.Name(ref)
	}
	return fmt.Sprintf("container %s of %s", ref.Container, workload.Name(ref))
}

// reuseError says why an existing App cannot be reused for ref, or returns
// nil when it can: its spec.from names the same workload and, when ref
// names one, the same container. An existing App is never changed: others
// may run Tasks of it as it is.
func reuseError(app *v1alpha1.App, ref v1alpha1.WorkloadRef) error {
	from := app.Spec.From
	if from != nil && from.Kind == ref.Kind && from.Name == ref.Name && (ref.Container == "" || ref.Container == from.Container) {
		return nil
	}
	var runs string
	switch {
	case from == nil:
		runs = "image " + app.Spec.Image
	case from.Container == "" && from.Kind == ref.Kind && from.Name == ref.Name:
		runs = "the default container of " + workload.Name(*from)
	default:
		runs = describeRef(*from)
	}
	return fmt.Errorf("App %s exists and does not run %s (it runs %s): pass --app NAME to create another App for it", app.Name, describeRef(ref), runs)
}

// newFromApp is the App `run --from` creates: spec.from alone, so that
// its Tasks run the workload as it is when each is created.
func newFromApp(name, namespace string, ref v1alpha1.WorkloadRef) *v1alpha1.App {
	return &v1alpha1.App{
		TypeMeta:   metav1.TypeMeta{APIVersion: v1alpha1.GroupVersion.String(), Kind: "App"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace},
		Spec:       v1alpha1.AppSpec{From: &ref},
	}
}

// appFrom returns the App named name for the workload from names,
// creating it, as the user, when it does not exist, and reporting that on
// report.
func (o *Options) appFrom(ctx context.Context, name string, from fromArg, report io.Writer) error {
	mapper, err := o.ConfigFlags.ToRESTMapper()
	if err != nil {
		return fmt.Errorf("reading the server's resource types: %w", err)
	}
	ref, err := workloadRef(mapper, from)
	if err != nil {
		return err
	}
	key := types.NamespacedName{Namespace: o.namespace, Name: name}
	existing := &v1alpha1.App{}
	err = o.client.Get(ctx, key, existing)
	switch {
	case err == nil:
		return reuseError(existing, ref)
	case apierrors.IsNotFound(err), apierrors.IsForbidden(err):
		// A user who may not read Apps may still create one; the server
		// says so if it exists.
	default:
		return fmt.Errorf("reading App %s: %w", name, apiError(err))
	}
	// The App webhook only warns of a workload that does not exist, as an
	// App may come before it; here it is a typo, which would leave an App
	// behind that no Task can run.
	if err := o.client.Get(ctx, types.NamespacedName{Namespace: o.namespace, Name: ref.Name}, workload.NewObject(ref.Kind)); err != nil {
		if apierrors.IsNotFound(err) {
			return fmt.Errorf("%s does not exist in namespace %s; create it, or point --from at a workload that exists", workload.Name(ref), o.namespace)
		}
		return fmt.Errorf("reading %s: %w", workload.Name(ref), err)
	}
	if err := o.client.Create(ctx, newFromApp(name, o.namespace, ref)); err != nil {
		// Created since it was read: reuse it on the same terms.
		if apierrors.IsAlreadyExists(err) && o.client.Get(ctx, key, existing) == nil {
			return reuseError(existing, ref)
		}
		return apiError(err)
	}
	fmt.Fprintf(report, "app.%s/%s created (from %s)\n", v1alpha1.GroupVersion.Group, name, describeRef(ref))
	return nil
}
