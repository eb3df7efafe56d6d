package taskcli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/cli-runtime/pkg/printers"
	"k8s.io/kubectl/pkg/cmd/get"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/taskgate/taskgate/api/v1alpha1"
)

// scheduleResource is the resource that schedules reads through
// cli-runtime's Builder, as resource.version.group, as taskResource.
var scheduleResource = "taskschedules." + v1alpha1.GroupVersion.Version + "." + v1alpha1.GroupVersion.Group

var scheduleKind = v1alpha1.GroupVersion.WithKind("TaskSchedule")

func newSchedulesCommand(o *Options) *cobra.Command {
	var (
		allNamespaces bool
		printFlags    = get.NewGetPrintFlags()
	)
	cmd := &cobra.Command{
		Use:     "schedules [-A] [-o wide|custom-columns=...|json|yaml|name|jsonpath=...] [--sort-by=...] [--no-headers]",
		Aliases: []string{"job-schedules", "jobs"},
		Short:   "List TaskSchedules with their App, cron expression, next run and last state",
		Long: `List the namespace's TaskSchedules, as kf job-schedules and kf jobs do: the table
kubectl get taskschedules prints, from the TaskSchedule CRD's printer columns,
by App and name: each one's App, cron expression and time zone, whether it is
suspended, its running Tasks, its last tick, its next tick (in UTC) and how its
last finished Task ended. -A lists every namespace's schedules.

The output flags are kubectl get's, as for kubectl task list.`,
		Example: `  kubectl task schedules
  kubectl task schedules -o wide
  kubectl task schedules -o custom-columns=NAME:.metadata.name,NEXT:.status.nextScheduleTime`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.printList(printFlags, allNamespaces, listing{
				newPrinter: schedulePrinter, what: "TaskSchedules",
				read: func(table bool) (runtime.Object, error) { return o.readSchedules(allNamespaces, table) },
				none: func(where string) (string, error) {
					return fmt.Sprintf("No TaskSchedules found in %s; create one with kubectl task schedule APP NAME \"CRON\" -c COMMAND", where), nil
				},
			})
		},
	}
	printFlags.AddFlags(cmd)
	cmd.Flags().BoolVarP(&allNamespaces, "all-namespaces", "A", false, "list the TaskSchedules of every namespace, as kubectl get -A does")
	return cmd
}

// schedulePrinter is taskPrinter for TaskSchedules. Without --sort-by its
// rows are ordered by namespace, App and name, the order of Tasks without
// an ID.
func schedulePrinter(f *get.PrintFlags, allNamespaces bool) (printers.ResourcePrinter, error) {
	return kindPrinter(f, scheduleKind.GroupKind(), allNamespaces)
}

// readSchedules reads the namespace's TaskSchedules, or every
// namespace's, as readTasks reads Tasks: the server's Table with each
// row's object when table, else the list.
func (o *Options) readSchedules(allNamespaces, table bool) (runtime.Object, error) {
	return o.read(readRequest{
		kind: scheduleKind, what: "TaskSchedules", args: []string{scheduleResource},
		namespace: o.namespace, allNamespaces: allNamespaces, table: table,
		explain: scheduleAPIError,
	})
}

// scheduleAPIError is apiError for a cluster whose taskgate predates
// TaskSchedules.
func scheduleAPIError(err error) error {
	if meta.IsNoMatchError(err) {
		return errors.New("this cluster serves no taskgate.dev/v1alpha1 TaskSchedules: install the taskgate Helm chart, or upgrade it to a version that has them")
	}
	return err
}

// namedSchedules are TaskSchedules, as commands read them by name.
var namedSchedules = namedKind{
	kind:            "TaskSchedule",
	newList:         func() client.ObjectList { return &v1alpha1.TaskScheduleList{} },
	notFoundMessage: scheduleNotFoundMessage,
	explain:         scheduleAPIError,
}

// scheduleNotFoundMessage says that a TaskSchedule does not exist and
// how to create one, listing the namespace's schedules when they are known
// (names is nil when they could not be read).
func scheduleNotFoundMessage(name, namespace string, names []string) string {
	return notFoundMessage("TaskSchedule", name, namespace, names, `kubectl task schedule APP `+name+` "CRON" -c COMMAND`)
}

// getSchedule returns the namespace's TaskSchedule name, or an error that
// lists the namespace's schedules when it does not exist.
func (o *Options) getSchedule(ctx context.Context, name string) (*v1alpha1.TaskSchedule, error) {
	ts := &v1alpha1.TaskSchedule{}
	if err := o.get(ctx, namedSchedules, name, ts); err != nil {
		return nil, err
	}
	return ts, nil
}

// schedulePatch is the JSON merge patch that sets only the given fields
// of a TaskSchedule's spec: its cron expression and whether it is
// suspended, when not nil.
func schedulePatch(expr *string, suspend *bool) []byte {
	spec := map[string]any{}
	if expr != nil {
		spec["schedule"] = *expr
	}
	if suspend != nil {
		spec["suspend"] = *suspend
	}
	// A map of a string and a bool always marshals.
	b, _ := json.Marshal(map[string]any{"spec": spec})
	return b
}

// patchSchedule applies a merge patch to the namespace's TaskSchedule
// name and returns it as patched.
func (o *Options) patchSchedule(ctx context.Context, name string, patch []byte) (*v1alpha1.TaskSchedule, error) {
	ts := &v1alpha1.TaskSchedule{ObjectMeta: metav1.ObjectMeta{Namespace: o.namespace, Name: name}}
	err := o.client.Patch(ctx, ts, client.RawPatch(types.MergePatchType, patch))
	switch {
	case err == nil:
		return ts, nil
	case apierrors.IsNotFound(err):
		return nil, o.notFound(ctx, namedSchedules, name)
	}
	// The webhook checks a changed spec as its writer; its refusal says why.
	return nil, scheduleAPIError(err)
}
