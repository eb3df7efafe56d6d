package taskcli

import (
	"fmt"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/printers"
	"k8s.io/utils/ptr"

	"github.com/taskgate/taskgate/api/v1alpha1"
	"github.com/taskgate/taskgate/schedule"
)

func newRunNowCommand(o *Options) *cobra.Command {
	var wait, follow bool
	printFlags := genericclioptions.NewPrintFlags("created")
	cmd := &cobra.Command{
		Use:     "run-now NAME [--wait | --follow] [-o name|json|yaml]",
		Aliases: []string{"run-job"},
		Short:   "Start one Task of a TaskSchedule now, as kf run-job does",
		Long: `Start one Task now from the TaskSchedule's template, as kf run-job does. It is
the Task a tick would start, labelled with the schedule's name, owned by it and
given the App's next ID, but created by you, as kubectl task run creates one:
you need the permission to create Tasks. Its name is the schedule's, then
-manual- and a random suffix. The schedule's ticks go on as before, and under
a Forbid policy this Task counts as running.

--wait, --follow and -o are run's.`,
		Example: `  kubectl task run-now nightly-report
  kubectl task run-now nightly-report --follow`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeSchedule(o),
		RunE: func(cmd *cobra.Command, args []string) error {
			var printer printers.ResourcePrinter
			if *printFlags.OutputFormat != "" {
				if follow {
					return fmt.Errorf("-o and --follow both write to standard output: use one, or --wait with -o")
				}
				var err error
				if printer, err = printFlags.WithTypeSetter(o.scheme).ToPrinter(); err != nil {
					return err
				}
			}
			if err := o.complete(); err != nil {
				return err
			}
			ts, err := o.getSchedule(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return o.run(cmd.Context(), schedule.RunNowTask(ts), printer, wait, follow)
		},
	}
	cmd.Flags().BoolVarP(&wait, "wait", "w", false, "wait for the Task to finish; if it fails, exit with its command's exit status, or 1 if it has none")
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "stream the Task's logs while it runs, then exit as --wait does")
	printFlags.AddFlags(cmd)
	return cmd
}

// newSuspendCommand returns suspend, or resume when !suspend: a JSON merge
// patch of spec.suspend alone.
func newSuspendCommand(o *Options, suspend bool) *cobra.Command {
	cmd := &cobra.Command{
		Use:               "suspend NAME",
		Aliases:           []string{"suspend-job", "delete-job-schedule"},
		Short:             "Stop a TaskSchedule starting Tasks; those running go on",
		Long:              `Suspend a TaskSchedule, as kf suspend-job does: it starts no Task at its ticks until kubectl task resume. Tasks already running go on. Only spec.suspend changes.`,
		Example:           `  kubectl task suspend nightly-report`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeSchedule(o),
	}
	if !suspend {
		cmd.Use, cmd.Aliases = "resume NAME", []string{"resume-job"}
		cmd.Short = "Let a suspended TaskSchedule start Tasks at its ticks again"
		cmd.Long = `Resume a TaskSchedule, as kf resume-job does. Only spec.suspend changes, but the
schedule is checked again as you, as when it was created: you need the
permission to create Tasks. Unless its startingDeadlineSeconds has passed, the
last tick missed while it was suspended starts at once, as a CronJob's does.`
		cmd.Example = `  kubectl task resume nightly-report`
	}
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if err := o.complete(); err != nil {
			return err
		}
		ts, err := o.patchSchedule(cmd.Context(), args[0], schedulePatch(nil, ptr.To(suspend)))
		if err != nil {
			return err
		}
		if suspend {
			fmt.Fprintf(o.Out, "TaskSchedule %s of App %s suspended: it starts no Task until kubectl task resume %s; Tasks already running go on\n", ts.Name, ts.Spec.AppRef.Name, ts.Name)
			return nil
		}
		fmt.Fprintln(o.Out, scheduleLine(ts, "resumed", o.Clock.Now()))
		return nil
	}
	return cmd
}

func newDeleteScheduleCommand(o *Options) *cobra.Command {
	return &cobra.Command{
		Use:     "delete-schedule NAME",
		Aliases: []string{"delete-job"},
		Short:   "Delete a TaskSchedule; the Tasks it started stay",
		Long: `Delete a TaskSchedule, as kf delete-job does. The Tasks it started are not
deleted, running or not: each is owned by its App too, and stays until the
App's cap or the Task TTL removes it, as any Task. List them with kubectl task
list --schedule NAME, and cancel a running one with kubectl task terminate.`,
		Example:           `  kubectl task delete-schedule nightly-report`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeSchedule(o),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.complete(); err != nil {
				return err
			}
			ts := &v1alpha1.TaskSchedule{ObjectMeta: metav1.ObjectMeta{Namespace: o.namespace, Name: args[0]}}
			switch err := o.client.Delete(cmd.Context(), ts); {
			case apierrors.IsNotFound(err):
				return o.notFound(cmd.Context(), namedSchedules, ts.Name)
			case err != nil:
				return fmt.Errorf("deleting TaskSchedule %s: %w", ts.Name, scheduleAPIError(err))
			}
			fmt.Fprintf(o.Out, "TaskSchedule %s deleted; the Tasks it started stay (kubectl task list --schedule %s)\n", ts.Name, ts.Name)
			return nil
		},
	}
}

// newJobHistoryCommand is Kf's job-history NAME: list --schedule NAME,
// with list's flags.
func newJobHistoryCommand(o *Options) *cobra.Command {
	cmd := newListCommand(o)
	cmd.Use = "job-history NAME [-o wide|custom-columns=...|json|yaml|name|jsonpath=...] [--sort-by=...]"
	cmd.Aliases = nil
	cmd.Short = "List the Tasks a TaskSchedule started, as kf job-history does"
	cmd.Long = `List the Tasks that the TaskSchedule NAME started, at its ticks or with run-now,
as kf job-history does: kubectl task list --schedule NAME, with list's flags.`
	cmd.Example = `  kubectl task job-history nightly-report`
	cmd.Args = cobra.ExactArgs(1)
	cmd.ValidArgsFunction = completeSchedule(o)
	list := cmd.RunE
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if err := cmd.Flags().Set("schedule", args[0]); err != nil {
			return err
		}
		return list(cmd, nil)
	}
	return cmd
}
