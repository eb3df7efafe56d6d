package taskcli

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/taskgate/taskgate/api/v1alpha1"
)

// maxListedApps bounds how many App names an error message lists.
const maxListedApps = 10

// appNotFoundMessage says that an App does not exist and how to create
// it, listing the namespace's Apps when they are known (apps is nil when
// they could not be read).
func appNotFoundMessage(app, namespace string, apps []string) string {
	var there string
	switch {
	case apps == nil:
	case len(apps) == 0:
		there = ", which has no Apps"
	case len(apps) > maxListedApps:
		there = fmt.Sprintf("; its Apps include %s and %d more", strings.Join(apps[:maxListedApps], ", "), len(apps)-maxListedApps)
	default:
		there = "; its Apps are " + strings.Join(apps, ", ")
	}
	return fmt.Sprintf("App %s not found in namespace %s%s. Create it with kubectl apply -f app.yaml, or choose the namespace with -n", app, namespace, there)
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
	err := o.client.Get(ctx, types.NamespacedName{Namespace: o.namespace, Name: name}, app)
	switch {
	case err == nil:
		return app, nil
	case apierrors.IsForbidden(err):
		return nil, nil
	case apierrors.IsNotFound(err):
		return nil, fmt.Errorf("%s", appNotFoundMessage(name, o.namespace, o.appNames(ctx)))
	}
	return nil, fmt.Errorf("reading App %s: %w", name, apiError(err))
}

// appNames lists the namespace's Apps, or returns nil if they cannot be
// read.
func (o *Options) appNames(ctx context.Context) []string {
	var apps v1alpha1.AppList
	if err := o.client.List(ctx, &apps, client.InNamespace(o.namespace)); err != nil {
		return nil
	}
	names := make([]string, 0, len(apps.Items))
	for _, a := range apps.Items {
		names = append(names, a.Name)
	}
	slices.Sort(names)
	return names
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
