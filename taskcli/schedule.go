package taskcli

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/printers"
	"k8s.io/utils/ptr"

	"github.com/taskgate/taskgate/api/v1alpha1"
	"github.com/taskgate/taskgate/schedule"
)

// unscheduled is the schedule of a Kf job created without one: create-job
// makes it suspended, and only schedule-job gives it a real one. Once a
// year, so that resuming it by mistake starts little.
const unscheduled = "0 0 1 1 *"

// scheduleFlags are the flags of `kubectl task schedule` and of Kf's
// create-job: the template's, as run's, and the schedule's own.
type scheduleFlags struct {
	// template holds the flags that run has too, with run's meanings.
	template                    runFlags
	labels                      []string
	retries                     int32
	retriesSet                  bool
	timeZone, concurrencyPolicy string
	startingDeadline            string
	suspend                     bool
	// schedule is create-job's --schedule.
	schedule string
}

// bindScheduleFlags binds the flags of schedule, or with kf those of Kf's
// create-job, to f: the template's, with run's names and Kf's aliases,
// and the schedule's. Kf's create-job takes the command as an argument,
// -c as the concurrency policy and -s as the schedule.
func bindScheduleFlags(fl *pflag.FlagSet, f *scheduleFlags, kf bool) {
	t := &f.template
	if kf {
		// Not Kf's -s, which is kubectl's --server.
		fl.StringVar(&f.schedule, "schedule", "", `cron schedule, such as "0 3 * * *" (default: none, and the schedule is suspended)`)
		fl.StringVarP(&f.concurrencyPolicy, "concurrency-policy", "c", "", "Always (default; taskgate's Allow), Forbid or Replace")
	} else {
		fl.StringVarP(&t.command, "command", "c", "", "shell command each Task runs in place of the App's start command")
		fl.StringVar(&f.concurrencyPolicy, "concurrency-policy", "", "Allow (default; Kf's Always), Forbid or Replace: what a tick does while a Task of the schedule runs")
	}
	fl.StringVar(&t.displayName, "name", "", "display name of each Task, as run's --name; the schedule's name is the NAME argument")
	fl.StringVar(&t.displayName, "display-name", "", "the same as --name")
	bindResourceFlags(fl, t, "each Task")
	fl.StringArrayVar(&t.annotations, "annotation", nil, "annotation KEY=VALUE of each Task; repeatable")
	fl.StringArrayVar(&f.labels, "label", nil, "label KEY=VALUE of each Task; repeatable")
	fl.StringVar(&t.timeout, "timeout", "", "limit on each run, such as 30m or 2h; 0s for none (default: cluster policy)")
	fl.Int32Var(&f.retries, "retries", 0, "how many times a failed Task is retried (default: none)")
	fl.StringVar(&f.timeZone, "time-zone", "", `IANA time zone the schedule is read in, such as "Europe/Berlin" (default: UTC)`)
	fl.StringVar(&f.startingDeadline, "starting-deadline", "", "how late a missed tick may still start, such as 5m, in whole seconds (default: however late)")
	fl.BoolVar(&f.suspend, "suspend", false, "create the schedule suspended: it starts no Task until kubectl task resume")
}

// concurrencyPolicies are the values of --concurrency-policy, with Kf's
// Always for Allow.
var concurrencyPolicies = map[string]v1alpha1.ConcurrencyPolicy{
	"Allow":   v1alpha1.ConcurrencyAllow,
	"Always":  v1alpha1.ConcurrencyAllow,
	"Forbid":  v1alpha1.ConcurrencyForbid,
	"Replace": v1alpha1.ConcurrencyReplace,
}

// buildSchedule returns the TaskSchedule named name that starts, at each
// tick of expr, a Task of app made from f as run would make it. The
// schedule itself is left to the API server to check, so that a bad one
// is refused with the webhook's message.
func buildSchedule(app, name, expr string, f *scheduleFlags) (*v1alpha1.TaskSchedule, error) {
	// run's parsing, so that each flag means what it means to run.
	task, err := buildTask(app, &f.template)
	if err != nil {
		return nil, err
	}
	ts := &v1alpha1.TaskSchedule{
		TypeMeta:   metav1.TypeMeta{APIVersion: v1alpha1.GroupVersion.String(), Kind: "TaskSchedule"},
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: v1alpha1.TaskScheduleSpec{
			AppRef:   v1alpha1.AppReference{Name: app},
			Schedule: expr,
			Template: v1alpha1.TaskTemplate{
				Metadata: v1alpha1.TaskTemplateMetadata{Annotations: task.Annotations},
				Spec: v1alpha1.TaskTemplateSpec{
					DisplayName: task.Spec.DisplayName,
					Command:     task.Spec.Command,
					CPU:         task.Spec.CPU,
					Memory:      task.Spec.Memory,
					Disk:        task.Spec.Disk,
					Env:         task.Spec.Env,
					Timeout:     task.Spec.Timeout,
				},
			},
		},
	}
	labels, err := parsePairs("--label", f.labels)
	if err != nil {
		return nil, err
	}
	for _, kv := range labels {
		if ts.Spec.Template.Metadata.Labels == nil {
			ts.Spec.Template.Metadata.Labels = map[string]string{}
		}
		ts.Spec.Template.Metadata.Labels[kv[0]] = kv[1]
	}
	if f.retriesSet {
		if f.retries < 0 {
			return nil, fmt.Errorf("--retries %d: want 0 or more", f.retries)
		}
		ts.Spec.Template.Spec.Retries = ptr.To(f.retries)
	}
	if f.timeZone != "" {
		ts.Spec.TimeZone = ptr.To(f.timeZone)
	}
	if f.concurrencyPolicy != "" {
		p, ok := concurrencyPolicies[f.concurrencyPolicy]
		if !ok {
			return nil, fmt.Errorf("--concurrency-policy %q: want Allow (Kf's Always), Forbid or Replace", f.concurrencyPolicy)
		}
		ts.Spec.ConcurrencyPolicy = p
	}
	if f.startingDeadline != "" {
		d, err := time.ParseDuration(f.startingDeadline)
		if err != nil || d < 0 || d%time.Second != 0 {
			return nil, fmt.Errorf("--starting-deadline %q: want a whole number of seconds as a duration, such as 90s or 5m", f.startingDeadline)
		}
		ts.Spec.StartingDeadlineSeconds = ptr.To(int64(d / time.Second))
	}
	if f.suspend {
		ts.Spec.Suspend = ptr.To(true)
	}
	return ts, nil
}

func newScheduleCommand(o *Options) *cobra.Command {
	return o.creatingSchedule(&cobra.Command{
		Use:   `schedule APP NAME "CRON" [-c COMMAND]`,
		Short: "Start a Task of an App at each tick of a cron schedule",
		Long: `Create a TaskSchedule named NAME that starts a Task of APP at each tick of CRON,
as kf create-job and kf schedule-job do together. CRON is a standard five-field
cron expression, such as "0 3 * * *" (03:00 every day) or "*/15 * * * *", read
in UTC unless --time-zone names another zone.

Each Task is made from the flags as kubectl task run makes one: the command
(-c), display name (--name), environment, resources, timeout and annotations
mean what they mean to run. Each gets its App's next ID and is labelled
taskgate.dev/schedule=NAME: kubectl task list --schedule NAME lists them.

--concurrency-policy says what a tick does while a Task of the schedule still
runs: Allow (the default; Kf's Always) starts another, Forbid skips the tick,
Replace cancels the running Task and starts the tick's.

The schedule is checked when it is created, as the Task of a tick would be:
you need the permission to create Tasks, and a bad cron expression, time zone
or template is refused with the cluster's message.`,
		Example: `  # Send the report at 03:00 Berlin time every day
  kubectl task schedule shop nightly-report "0 3 * * *" -c "bin/report" --time-zone Europe/Berlin

  # Every 15 minutes, never two at once
  kubectl task schedule shop sync "*/15 * * * *" -c "bin/sync" --concurrency-policy Forbid`,
	}, false)
}

// newCreateJobCommand is Kf's create-job: the command is an argument, -c
// the concurrency policy and -s the schedule. Without -s the schedule is
// created suspended, as Kf's job to run with run-job, until schedule-job.
func newCreateJobCommand(o *Options) *cobra.Command {
	return o.creatingSchedule(&cobra.Command{
		Use:   `create-job APP NAME "COMMAND" [--schedule "CRON"]`,
		Short: "Kf's create-job: a TaskSchedule, suspended unless --schedule is given",
		Long: `Create a TaskSchedule as kf create-job creates a Job, with Kf's flags: COMMAND is
the third argument, --schedule the cron expression (Kf's -s is kubectl's
--server here) and -c the concurrency policy. Without --schedule, the
TaskSchedule is created suspended with the schedule "` + unscheduled + `": run it
with kubectl task run-now NAME, and give it its schedule with kubectl task
schedule-job NAME "CRON", which resumes it. kubectl task schedule is the same
in one step.`,
		Example: `  kubectl task create-job shop report "bin/report"
  kubectl task schedule-job report "0 3 * * *"`,
	}, true)
}

// creatingSchedule makes cmd, schedule or with kf Kf's create-job, create
// the TaskSchedule that its three arguments and its flags describe, as
// buildSchedule or with kf buildJob reads them.
func (o *Options) creatingSchedule(cmd *cobra.Command, kf bool) *cobra.Command {
	f := &scheduleFlags{}
	printFlags := genericclioptions.NewPrintFlags("created")
	build := buildSchedule
	if kf {
		build = buildJob
	}
	cmd.Args = cobra.ExactArgs(3)
	cmd.ValidArgsFunction = completeAppThenID(o, false)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		f.retriesSet = cmd.Flags().Changed("retries")
		ts, err := build(args[0], args[1], args[2], f)
		if err != nil {
			return err
		}
		return o.createSchedule(cmd.Context(), ts, printFlags)
	}
	bindScheduleFlags(cmd.Flags(), f, kf)
	printFlags.AddFlags(cmd)
	return cmd
}

// buildJob is buildSchedule for Kf's create-job APP NAME COMMAND: without
// --schedule, the schedule is suspended until schedule-job.
func buildJob(app, name, command string, f *scheduleFlags) (*v1alpha1.TaskSchedule, error) {
	f.template.command = command
	expr := f.schedule
	if expr == "" {
		expr, f.suspend = unscheduled, true
	}
	return buildSchedule(app, name, expr, f)
}

// createSchedule creates ts in the namespace and reports it: on standard
// output, or on standard error when -o prints the object.
func (o *Options) createSchedule(ctx context.Context, ts *v1alpha1.TaskSchedule, printFlags *genericclioptions.PrintFlags) error {
	var printer printers.ResourcePrinter
	if *printFlags.OutputFormat != "" {
		var err error
		if printer, err = printFlags.WithTypeSetter(o.scheme).ToPrinter(); err != nil {
			return err
		}
	}
	if err := o.complete(); err != nil {
		return err
	}
	if _, err := o.getApp(ctx, ts.Spec.AppRef.Name); err != nil {
		return err
	}
	ts.Namespace = o.namespace
	if err := o.client.Create(ctx, ts); err != nil {
		// The webhook's refusal names the field and shows an example.
		return apiError(err)
	}
	report := o.Out
	if printer != nil {
		report = o.ErrOut
		if err := printer.PrintObj(ts, o.Out); err != nil {
			return fmt.Errorf("printing TaskSchedule %s: %w", ts.Name, err)
		}
	}
	fmt.Fprintln(report, scheduleLine(ts, "created", o.Clock.Now()))
	return nil
}

// scheduleLine says what was done to ts (verb) and when its next Task
// starts, as the reconciler computes it from now.
func scheduleLine(ts *v1alpha1.TaskSchedule, verb string, now time.Time) string {
	head := fmt.Sprintf("TaskSchedule %s of App %s %s", ts.Name, ts.Spec.AppRef.Name, verb)
	if ptr.Deref(ts.Spec.Suspend, false) {
		return fmt.Sprintf("%s, suspended: it starts no Task until kubectl task schedule-job %s \"CRON\" or kubectl task resume %s; kubectl task run-now %s starts one now", head, ts.Name, ts.Name, ts.Name)
	}
	s, err := schedule.Parse(ts.Spec.Schedule, ts.Spec.TimeZone)
	if err != nil {
		// Admitted, so it parses; a cluster with other rules has the last word.
		return head
	}
	return fmt.Sprintf("%s; its next tick is at %s", head, s.Next(now).UTC().Format(time.RFC3339))
}

// newScheduleJobCommand is Kf's schedule-job: it gives a schedule its cron
// expression and resumes it.
func newScheduleJobCommand(o *Options) *cobra.Command {
	return &cobra.Command{
		Use:   `schedule-job NAME "CRON"`,
		Short: "Kf's schedule-job: set a TaskSchedule's cron expression and resume it",
		Long: `Set the cron expression of the TaskSchedule NAME and resume it, as kf schedule-job
does: one JSON merge patch of spec.schedule and spec.suspend. The schedule is
checked again, as the one who changes it, as when it was created.`,
		Example:           `  kubectl task schedule-job report "0 3 * * *"`,
		Args:              cobra.ExactArgs(2),
		ValidArgsFunction: completeSchedule(o),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.complete(); err != nil {
				return err
			}
			ts, err := o.patchSchedule(cmd.Context(), args[0], schedulePatch(&args[1], ptr.To(false)))
			if err != nil {
				return err
			}
			fmt.Fprintln(o.Out, scheduleLine(ts, "scheduled", o.Clock.Now()))
			return nil
		},
	}
}
