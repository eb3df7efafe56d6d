package taskcli

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/taskgate/taskgate/api/v1alpha1"
)

// maxListedNames bounds how many names an error message lists.
const maxListedNames = 10

// appNotFoundMessage says that an App does not exist and how to create
// it, listing the namespace's Apps when they are known (apps is nil when
// they could not be read).
func appNotFoundMessage(app, namespace string, apps []string) string {
	return notFoundMessage("App", app, namespace, apps, "kubectl apply -f app.yaml")
}

// notFoundMessage says that the namespace has no object of kind named
// name and that create creates one, listing the namespace's objects of
// the kind when they are known (names is nil when they could not be
// read).
func notFoundMessage(kind, name, namespace string, names []string, create string) string {
	var there string
	switch {
	case names == nil:
	case len(names) == 0:
		there = ", which has no " + kind + "s"
	case len(names) > maxListedNames:
		there = fmt.Sprintf("; its %ss include %s and %d more", kind, strings.Join(names[:maxListedNames], ", "), len(names)-maxListedNames)
	default:
		there = "; its " + kind + "s are " + strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s %s not found in namespace %s%s. Create it with %s, or choose the namespace with -n", kind, name, namespace, there, create)
}

// namedKind is a kind of object that commands read by a name the user
// gives: when the namespace has none of that name, the error says how to
// create one and lists those it has.
type namedKind struct {
	// kind names the kind in errors.
	kind string
	// newList returns an empty list of the kind.
	newList func() client.ObjectList
	// notFoundMessage words the error for a name the namespace does not
	// have, given the names it has (nil when they could not be read).
	notFoundMessage func(name, namespace string, names []string) string
	// explain is apiError, or the kind's own.
	explain func(error) error
}

// namedApps are Apps, as commands read them by name.
var namedApps = namedKind{
	kind:            "App",
	newList:         func() client.ObjectList { return &v1alpha1.AppList{} },
	notFoundMessage: appNotFoundMessage,
	explain:         apiError,
}

// get reads the namespace's object of kind k named name into obj, or
// returns an error that says how to create it.
func (o *Options) get(ctx context.Context, k namedKind, name string, obj client.Object) error {
	err := o.client.Get(ctx, types.NamespacedName{Namespace: o.namespace, Name: name}, obj)
	switch {
	case err == nil:
		return nil
	case apierrors.IsNotFound(err):
		return o.notFound(ctx, k, name)
	}
	return fmt.Errorf("reading %s %s: %w", k.kind, name, k.explain(err))
}

// notFound is the error for a name of kind k that the namespace does not
// have.
func (o *Options) notFound(ctx context.Context, k namedKind, name string) error {
	return errors.New(k.notFoundMessage(name, o.namespace, o.names(ctx, k)))
}

// names lists the names of the namespace's objects of kind k, sorted, or
// returns nil if they cannot be read.
func (o *Options) names(ctx context.Context, k namedKind) []string {
	list := k.newList()
	if err := o.client.List(ctx, list, client.InNamespace(o.namespace)); err != nil {
		return nil
	}
	names := make([]string, 0, meta.LenList(list))
	// A typed list's items are client.Objects, and fn fails on none.
	_ = meta.EachListItem(list, func(obj runtime.Object) error {
		names = append(names, obj.(client.Object).GetName())
		return nil
	})
	slices.Sort(names)
	return names
}

// taskRef is how a command names a Task: by its App and ID, as
// `cf terminate-task APP ID` does, or by its name.
type taskRef struct {
	app  string
	id   int64
	name string
}

// parseTaskRef reads `APP ID` or `TASK`.
// onTask is the RunE of a command on one Task, named by APP ID or by its
// name: it reads the arguments, completes the options, then runs run.
func onTask(o *Options, run func(ctx context.Context, ref taskRef) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		ref, err := parseTaskRef(args)
		if err != nil {
			return err
		}
		if err := o.complete(); err != nil {
			return err
		}
		return run(cmd.Context(), ref)
	}
}

func parseTaskRef(args []string) (taskRef, error) {
	switch len(args) {
	case 1:
		return taskRef{name: args[0]}, nil
	case 2:
		id, err := strconv.ParseInt(args[1], 10, 64)
		if err != nil || id < 1 {
			return taskRef{}, fmt.Errorf("%q is not a Task ID: give an App and a Task ID, such as shop 3, or a Task's name", args[1])
		}
		return taskRef{app: args[0], id: id}, nil
	}
	return taskRef{}, fmt.Errorf("give an App and a Task ID, such as shop 3, or a Task's name; got %d arguments", len(args))
}

// getApp returns the App, or an error that says how to create it. It
// returns nil and no error when the user may not read Apps: the webhook
// then has the last word.
func (o *Options) getApp(ctx context.Context, name string) (*v1alpha1.App, error) {
	app := &v1alpha1.App{}
	switch err := o.get(ctx, namedApps, name, app); {
	case apierrors.IsForbidden(err):
		// get wraps the API error.
		return nil, nil
	case err != nil:
		return nil, err
	}
	return app, nil
}

// findTask returns the Task that ref names; verb is the command, for the
// hint in an error.
func (o *Options) findTask(ctx context.Context, ref taskRef, verb string) (*v1alpha1.Task, error) {
	if ref.name != "" {
		t := &v1alpha1.Task{}
		err := o.client.Get(ctx, types.NamespacedName{Namespace: o.namespace, Name: ref.name}, t)
		if err == nil {
			return t, nil
		}
		if !apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("reading Task %s: %w", ref.name, apiError(err))
		}
		if app, _ := o.getApp(ctx, ref.name); app != nil {
			return nil, fmt.Errorf("Task %s not found in namespace %s, but App %s is there: name its Task by ID, such as kubectl task %s %s 1", ref.name, o.namespace, ref.name, verb, ref.name)
		}
		return nil, fmt.Errorf("Task %s not found in namespace %s; list the Tasks with kubectl task list", ref.name, o.namespace)
	}

	// The server selects on the CRD's selectable fields: the Task carries
	// its ID only in status, with no label (that would be a write of its
	// own).
	var tasks v1alpha1.TaskList
	if err := o.client.List(ctx, &tasks, client.InNamespace(o.namespace), client.MatchingFields{
		v1alpha1.FieldTaskApp: ref.app,
		v1alpha1.FieldTaskID:  strconv.FormatInt(ref.id, 10),
	}); err != nil {
		return nil, fmt.Errorf("listing Tasks of App %s: %w", ref.app, selectError(apiError(err)))
	}
	switch len(tasks.Items) {
	case 0:
		if _, err := o.getApp(ctx, ref.app); err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("App %s has no Task with ID %d in namespace %s; list its Tasks with kubectl task list %s", ref.app, ref.id, o.namespace, ref.app)
	case 1:
		return &tasks.Items[0], nil
	}
	names := make([]string, 0, len(tasks.Items))
	for _, t := range tasks.Items {
		names = append(names, t.Name)
	}
	return nil, fmt.Errorf("several Tasks of App %s carry ID %d (%s); name one", ref.app, ref.id, strings.Join(names, ", "))
}

// selectError explains the API server's refusal of a field selector: a
// Task CRD installed by a chart older than this plugin does not declare
// the fields selectable.
func selectError(err error) error {
	if !apierrors.IsBadRequest(err) || !strings.Contains(err.Error(), "field label not supported") {
		return err
	}
	return fmt.Errorf("%w: the cluster's Task CRD does not let this plugin select a Task by App and ID; upgrade taskgate's chart, or name the Task by its name (kubectl task list shows it)", err)
}

// podOf returns the name of the pod that runs or ran the Task, or "" if it
// has none yet. taskgate records it in the Task's status; before it does,
// the pod is found by its label.
func (o *Options) podOf(ctx context.Context, t *v1alpha1.Task) (string, error) {
	if t.Status.PodName != "" {
		return t.Status.PodName, nil
	}
	var pods corev1.PodList
	if err := o.client.List(ctx, &pods, client.InNamespace(t.Namespace), client.MatchingLabels{v1alpha1.LabelTask: t.Name}); err != nil {
		return "", fmt.Errorf("listing the pods of Task %s: %w", t.Name, err)
	}
	if len(pods.Items) == 0 {
		return "", nil
	}
	// A retried Task has a pod per attempt; the newest is the current one.
	newest := slices.MaxFunc(pods.Items, func(a, b corev1.Pod) int {
		return a.CreationTimestamp.Compare(b.CreationTimestamp.Time)
	})
	return newest.Name, nil
}
