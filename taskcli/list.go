package taskcli

import (
	"fmt"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
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
			// A format or --sort-by that cannot work fails before any
			// request.
			printer, err := taskPrinter(printFlags, allNamespaces)
			if err != nil {
				return err
			}
			if err := o.complete(); err != nil {
				return err
			}
			q := taskQuery{namespace: o.namespace, allNamespaces: allNamespaces, schedule: scheduleName}
			if len(args) == 1 {
				q.app = args[0]
			}
			where := "namespace " + o.namespace
			if allNamespaces {
				where = "any namespace"
			}
			table := tablePrinting(printFlags)
			tasks, err := o.readTasks(q, table)
			if err != nil {
				return fmt.Errorf("listing Tasks in %s: %w", where, err)
			}
			if countTasks(tasks) == 0 {
				if q.schedule != "" && !allNamespaces {
					// Say whether the schedule has started no Tasks or
					// does not exist; one may list Tasks without
					// reading schedules.
					if _, err := o.getSchedule(cmd.Context(), q.schedule); err != nil && !apierrors.IsForbidden(err) {
						return err
					}
				}
				if q.app != "" && !allNamespaces {
					// Say whether the App has no Tasks or does not exist.
					if _, err := o.getApp(cmd.Context(), q.app); err != nil {
						return err
					}
				}
				if table {
					// An empty table prints nothing, not even its
					// header; say so, as kubectl get does.
					if q.schedule != "" {
						fmt.Fprintf(o.ErrOut, "TaskSchedule %s has no Tasks in %s; start one now with kubectl task run-now %s\n", q.schedule, where, q.schedule)
						return nil
					}
					if q.app != "" {
						fmt.Fprintf(o.ErrOut, "App %s has no Tasks in %s; run one with kubectl task run %s -c COMMAND\n", q.app, where, q.app)
					} else {
						fmt.Fprintf(o.ErrOut, "No Tasks found in %s.\n", where)
					}
					return nil
				}
			}
			return printer.PrintObj(tasks, o.Out)
		},
	}
	printFlags.AddFlags(cmd)
	cmd.Flags().BoolVarP(&allNamespaces, "all-namespaces", "A", false, "list the Tasks of every namespace, as kubectl get -A does")
	cmd.Flags().StringVar(&scheduleName, "schedule", "", "list only the Tasks that this TaskSchedule started (label taskgate.dev/schedule), as kf job-history does")
	_ = cmd.RegisterFlagCompletionFunc("schedule", completeScheduleFlag(o))
	return cmd
}
