package taskcli

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/printers"
	"k8s.io/kubectl/pkg/cmd/get"
)

func newListCommand(o *Options) *cobra.Command {
	var (
		allNamespaces bool
		scheduleName  string
		printFlags    = get.NewGetPrintFlags()
	)
	cmd := &cobra.Command{
		Use:     "list [APP] [-A] [-o wide|custom-columns=...|json|yaml|name|jsonpath=...] [--sort-by=...] [--no-headers]",
		Aliases: []string{"ls"},
		Short:   "List Tasks by ID, with their state and duration",
		Long: `List the Tasks of an App, or of every App in the namespace, as cf tasks does:
by App and ID, with their name, ID, App, display name, state, start time, how
long they ran, their age and their own command. The table is the one kubectl
get tasks prints: the server's, from the Task CRD's printer columns. -o wide
adds the exit code, the pod and why a Task failed. -A lists every namespace's
Tasks. --schedule lists the Tasks a TaskSchedule started, as kf job-history
does; kubectl task job-history NAME is the same.

The output flags are kubectl get's: -o custom-columns, json, yaml, name,
jsonpath and go-template print the Tasks through kubectl's printers,
--sort-by orders them by a JSONPath field instead of by ID, and --no-headers
leaves out the header line.`,
		Example: `  kubectl task list shop
  kubectl task list -o wide
  kubectl task list -A
  kubectl task list --schedule nightly-report
  kubectl task list shop --sort-by=.metadata.creationTimestamp
  kubectl task list shop -o custom-columns=ID:.status.id,STATE:.status.state,EXIT:.status.exitCode
  kubectl task list shop -o jsonpath='{range .items[*]}{.status.id} {.status.state}{"\n"}{end}'`,
		Args:              cobra.MaximumNArgs(1),
		ValidArgsFunction: completeAppThenID(o, false),
		RunE: func(cmd *cobra.Command, args []string) error {
			q := taskQuery{allNamespaces: allNamespaces, schedule: scheduleName}
			if len(args) == 1 {
				q.app = args[0]
			}
			return o.printList(printFlags, allNamespaces, listing{
				newPrinter: taskPrinter, what: "Tasks",
				read: func(table bool) (runtime.Object, error) { return o.readTasks(q, table) },
				none: func(where string) (string, error) { return o.noTasks(cmd.Context(), q, where) },
			})
		},
	}
	printFlags.AddFlags(cmd)
	cmd.Flags().BoolVarP(&allNamespaces, "all-namespaces", "A", false, "list the Tasks of every namespace, as kubectl get -A does")
	cmd.Flags().StringVar(&scheduleName, "schedule", "", "list only the Tasks that this TaskSchedule started (label taskgate.dev/schedule), as kf job-history does")
	_ = cmd.RegisterFlagCompletionFunc("schedule", completeScheduleFlag(o))
	return cmd
}

// noTasks says why q found no Tasks in where: an error when the
// TaskSchedule or App it names does not exist, else what to say in place
// of an empty table.
func (o *Options) noTasks(ctx context.Context, q taskQuery, where string) (string, error) {
	if q.schedule != "" && !q.allNamespaces {
		// Say whether the schedule has started no Tasks or does not
		// exist; one may list Tasks without reading schedules.
		if _, err := o.getSchedule(ctx, q.schedule); err != nil && !apierrors.IsForbidden(err) {
			return "", err
		}
	}
	if q.app != "" && !q.allNamespaces {
		// Say whether the App has no Tasks or does not exist.
		if _, err := o.getApp(ctx, q.app); err != nil {
			return "", err
		}
	}
	switch {
	case q.schedule != "":
		return fmt.Sprintf("TaskSchedule %s has no Tasks in %s; start one now with kubectl task run-now %s", q.schedule, where, q.schedule), nil
	case q.app != "":
		return fmt.Sprintf("App %s has no Tasks in %s; run one with kubectl task run %s -c COMMAND", q.app, where, q.app), nil
	}
	return fmt.Sprintf("No Tasks found in %s.", where), nil
}

// listing is what a command that lists objects as kubectl get does, list
// or schedules, lists.
type listing struct {
	// newPrinter returns the printer for the objects: taskPrinter, or
	// that of their kind.
	newPrinter func(f *get.PrintFlags, allNamespaces bool) (printers.ResourcePrinter, error)
	// what names them in errors, such as "Tasks".
	what string
	// read reads them, the namespace's or every namespace's: as the
	// server's Table when table.
	read func(table bool) (runtime.Object, error)
	// none says why there are none in where: with an error, or with what
	// to say in place of an empty table.
	none func(where string) (string, error)
}

// printList is the body of list and schedules: it prints what l reads,
// in the namespace or with allNamespaces in every one, as f asks.
func (o *Options) printList(f *get.PrintFlags, allNamespaces bool, l listing) error {
	// A format or --sort-by that cannot work fails before any request.
	printer, err := l.newPrinter(f, allNamespaces)
	if err != nil {
		return err
	}
	if err := o.complete(); err != nil {
		return err
	}
	where := "namespace " + o.namespace
	if allNamespaces {
		where = "any namespace"
	}
	table := tablePrinting(f)
	obj, err := l.read(table)
	if err != nil {
		return fmt.Errorf("listing %s in %s: %w", l.what, where, err)
	}
	if countTasks(obj) == 0 {
		say, err := l.none(where)
		if err != nil {
			return err
		}
		if table {
			// An empty table prints nothing, not even its header; say
			// so, as kubectl get does.
			fmt.Fprintln(o.ErrOut, say)
			return nil
		}
	}
	return printer.PrintObj(obj, o.Out)
}
