package taskcli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/printers"

	"github.com/taskgate/taskgate/api/v1alpha1"
)

// runFlags are the flags of `kubectl task run`.
type runFlags struct {
	command, displayName       string
	cpu, memory, disk, timeout string
	env, annotations           []string
	wait, follow               bool
	// from, app and container are --from TYPE/NAME, the App's name
	// for it and the workload's container.
	from, app, container string
}

func newRunCommand(o *Options) *cobra.Command {
	f := &runFlags{}
	printFlags := genericclioptions.NewPrintFlags("created")
	cmd := &cobra.Command{
		Use:   "run (APP | --from TYPE/NAME) [COMMAND | -c COMMAND] [--name NAME]",
		Short: "Run a one-off Task of an App and print its name and ID",
		Long: `Run a one-off Task of an App, as cf run-task does. The Task runs in the App's
image with its environment, service bindings and resources; the command, given
as the second argument or with --command, replaces the App's start command and
runs as /bin/sh -c COMMAND.

--from TYPE/NAME runs a Task of a Deployment, StatefulSet, DaemonSet or
CronJob instead, with no App of your own: the Task runs that workload's
container (--container, else its default container) with its image, at the
digest its pods run, and its environment, volumes and resources. TYPE is any of
kubectl's names for the kind: deployment, deploy, statefulset, sts, daemonset,
ds, cronjob, cj. The first run creates an App named after the workload (or
--app NAME) whose spec.from names it, and later runs reuse that App. An App of
that name that runs something else is left as it is, and the run fails: pass
--app NAME to create another App for the workload.

--name is the run's display name, as in cf and kf: it need not be unique, and
the Task's object name is generated from the App's. -o prints the new Task
(name, json, yaml...) on standard output, and the line that reports it goes to
standard error.

Memory and disk take Cloud Foundry sizes, where K, M, G and T (with or without
a B, in any case) count in powers of 1024: 512M and 512MB mean 512Mi, 1G and
1GB mean 1Gi. Kubernetes quantities such as 512Mi work too.`,
		Example: `  # Migrate the database of App shop and wait for the outcome
  kubectl task run shop "bundle exec rake db:migrate" --name migrate --wait

  # Keep the new Task's name for later commands
  task=$(kubectl task run shop -c "bin/report" -o name)

  # Run a bigger import, showing its logs as it runs
  kubectl task run shop -c "bin/import orders.csv" --memory 2G --follow

  # Migrate with what Deployment web runs, creating App web for it on the first run
  kubectl task run --from deployment/web -c "rake db:migrate" --wait

  # Run the worker container of StatefulSet queue, as App queue-worker
  kubectl task run --from sts/queue --container worker --app queue-worker -c "bin/drain"`,
		Args: cobra.MaximumNArgs(2),
		ValidArgsFunction: func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
			// With --from, the App is no argument.
			if f.from != "" {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			return completeAppThenID(o, false)(cmd, args, toComplete)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			app, from, err := runTarget(args, f)
			if err != nil {
				return err
			}
			if len(args) == 2 {
				if f.command != "" {
					return fmt.Errorf("give the command once: as the second argument or with -c, not both")
				}
				f.command = args[1]
			}
			task, err := buildTask(app, f)
			if err != nil {
				return err
			}
			var printer printers.ResourcePrinter
			if *printFlags.OutputFormat != "" {
				if f.follow {
					return fmt.Errorf("-o and --follow both write to standard output: use one, or --wait with -o")
				}
				if printer, err = printFlags.WithTypeSetter(o.scheme).ToPrinter(); err != nil {
					return err
				}
			}
			if err := o.complete(); err != nil {
				return err
			}
			if from != nil {
				if err := o.appFrom(cmd.Context(), app, *from, o.reportTo(printer, f.follow)); err != nil {
					return err
				}
			}
			return o.run(cmd.Context(), task, printer, f.wait, f.follow)
		},
	}
	bindRunFlags(cmd.Flags(), f)
	printFlags.AddFlags(cmd)
	return cmd
}

// bindResourceFlags binds what a Task takes beyond its App, cpu, memory,
// disk and env, to f, with Kf's names for the same flags too, so that kf
// run-task lines port as they are; each says what the values are for.
func bindResourceFlags(fl *pflag.FlagSet, f *runFlags, each string) {
	fl.StringVar(&f.cpu, "cpu", "", "CPU for "+each+", such as 500m or 2 (default: the App's)")
	fl.StringVarP(&f.memory, "memory", "m", "", "memory for "+each+", such as 512M, 1G or 1Gi (default: the App's)")
	fl.StringVarP(&f.disk, "disk", "k", "", "ephemeral disk for "+each+", such as 1G or 2Gi (default: the App's)")
	fl.StringVar(&f.cpu, "cpu-cores", "", "the same as --cpu (Kf's name)")
	fl.StringVar(&f.memory, "memory-limit", "", "the same as --memory (Kf's name)")
	fl.StringVar(&f.disk, "disk-quota", "", "the same as --disk (Kf's name)")
	fl.StringArrayVarP(&f.env, "env", "e", nil, "environment variable NAME=VALUE, added to the App's; repeatable")
}

// bindRunFlags binds run's flags, with cf's and Kf's names, to f.
func bindRunFlags(fl *pflag.FlagSet, f *runFlags) {
	fl.StringVarP(&f.command, "command", "c", "", "shell command to run in place of the App's start command")
	fl.StringVar(&f.displayName, "name", "", "display name of the run, as in cf and kf; it need not be unique (the Task's object name is generated)")
	fl.StringVar(&f.displayName, "display-name", "", "the same as --name")
	bindResourceFlags(fl, f, "this run")
	fl.StringArrayVar(&f.annotations, "annotation", nil, "annotation KEY=VALUE for the Task, which taskgate copies to its pod; repeatable")
	fl.StringVar(&f.timeout, "timeout", "", "limit on the run, such as 30m or 2h; 0s for none (default: cluster policy)")
	fl.BoolVarP(&f.wait, "wait", "w", false, "wait for the Task to finish; if it fails, exit with its command's exit status, or 1 if it has none (cancelled, timed out)")
	fl.BoolVarP(&f.follow, "follow", "f", false, "stream the Task's logs while it runs, then exit as --wait does")
	fl.StringVar(&f.from, "from", "", "run a Task of a workload, TYPE/NAME such as deployment/web or sts/db, through an App for it, created on the first run")
	fl.StringVar(&f.app, "app", "", "with --from, the name of the App for the workload (default: the workload's name)")
	fl.StringVar(&f.container, "container", "", "with --from, the workload's container to run (default: its default container, else its first)")
}

// buildTask returns the Task that `run app` with flags f creates.
func buildTask(app string, f *runFlags) (*v1alpha1.Task, error) {
	t := &v1alpha1.Task{
		TypeMeta: metav1.TypeMeta{APIVersion: v1alpha1.GroupVersion.String(), Kind: "Task"},
		Spec: v1alpha1.TaskSpec{
			AppRef:      v1alpha1.AppReference{Name: app},
			DisplayName: f.displayName,
			Command:     f.command,
		},
	}
	// The object name is always generated, as cf and kf name runs only
	// for display: a ported script that reuses a --name runs again.
	t.GenerateName = app + "-"
	if f.cpu != "" {
		q, err := ParseCPU(f.cpu)
		if err != nil {
			return nil, fmt.Errorf("--cpu: %w", err)
		}
		t.Spec.CPU = &q
	}
	for _, s := range []struct {
		flag, value string
		into        **resource.Quantity
	}{{"--memory", f.memory, &t.Spec.Memory}, {"--disk", f.disk, &t.Spec.Disk}} {
		if s.value == "" {
			continue
		}
		q, err := ParseSize(s.value)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", s.flag, err)
		}
		*s.into = &q
	}
	if f.timeout != "" {
		d, err := time.ParseDuration(f.timeout)
		if err != nil || d < 0 {
			return nil, fmt.Errorf("--timeout: %q is not a duration such as 30m or 2h (0s for no limit)", f.timeout)
		}
		t.Spec.Timeout = &metav1.Duration{Duration: d}
	}
	env, err := parsePairs("--env", f.env)
	if err != nil {
		return nil, err
	}
	for _, kv := range env {
		t.Spec.Env = append(t.Spec.Env, corev1.EnvVar{Name: kv[0], Value: kv[1]})
	}
	annotations, err := parsePairs("--annotation", f.annotations)
	if err != nil {
		return nil, err
	}
	for _, kv := range annotations {
		if t.Annotations == nil {
			t.Annotations = map[string]string{}
		}
		t.Annotations[kv[0]] = kv[1]
	}
	return t, nil
}

// parsePairs reads repeated KEY=VALUE flags. A later value of a key
// replaces an earlier one, in the earlier one's place.
func parsePairs(flag string, values []string) ([][2]string, error) {
	var pairs [][2]string
	index := map[string]int{}
	for _, v := range values {
		k, val, ok := strings.Cut(v, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("%s %q: want KEY=VALUE", flag, v)
		}
		if i, seen := index[k]; seen {
			pairs[i][1] = val
			continue
		}
		index[k] = len(pairs)
		pairs = append(pairs, [2]string{k, val})
	}
	return pairs, nil
}

// run creates the Task, reports its name and ID, and with wait or follow
// waits for its outcome.
func (o *Options) run(ctx context.Context, task *v1alpha1.Task, printer printers.ResourcePrinter, wait, follow bool) error {
	if _, err := o.getApp(ctx, task.Spec.AppRef.Name); err != nil {
		return err
	}
	task.Namespace = o.namespace
	if err := o.client.Create(ctx, task); err != nil {
		// The webhook's denials say what is wrong and how to fix it;
		// pass them on as they are.
		return apiError(err)
	}
	task = o.waitForID(ctx, task)

	report := o.reportTo(printer, follow)
	if printer != nil {
		if err := printer.PrintObj(task, o.Out); err != nil {
			return fmt.Errorf("printing Task %s: %w", task.Name, err)
		}
	}
	if task.Status.ID == 0 {
		fmt.Fprintf(report, "Task %s of App %s created; its ID is pending, as taskgate has not assigned it yet (see kubectl task list %s)\n", task.Name, task.Spec.AppRef.Name, task.Spec.AppRef.Name)
	} else {
		fmt.Fprintf(report, "Task %s (ID %d) of App %s created\n", task.Name, task.Status.ID, task.Spec.AppRef.Name)
	}
	if !wait && !follow {
		return nil
	}
	var logs *logTarget
	if follow {
		logs = &logTarget{out: o.Out}
	}
	done, err := o.waitTask(ctx, task, logs)
	if err != nil {
		return err
	}
	return o.outcome(report, done)
}

// reportTo is where run reports what it created: standard output, but
// with --follow, standard output carries the Task's logs alone, and with
// -o the printed Task alone.
func (o *Options) reportTo(printer printers.ResourcePrinter, follow bool) io.Writer {
	if follow || printer != nil {
		return o.ErrOut
	}
	return o.Out
}

// waitForID watches for the ID that taskgate gives a new Task within
// about a second. It returns the Task as last seen, with or without one.
func (o *Options) waitForID(ctx context.Context, task *v1alpha1.Task) *v1alpha1.Task {
	ctx, cancel := context.WithTimeout(ctx, o.IDWait)
	defer cancel()
	// On a timeout or a failed watch the Task is reported as it is: its ID
	// is then pending, which list shows later.
	latest, _ := o.untilTask(ctx, task, func(t *v1alpha1.Task) bool { return t.Status.ID != 0 })
	return latest
}

// outcome reports how a finished Task ended: a line on w when it
// succeeded, an error with the reason when it failed or was cancelled. A
// command that exited non-zero makes the plugin exit with the same status,
// as `kubectl run --attach` does, so scripts can tell failures apart.
func (o *Options) outcome(w io.Writer, t *v1alpha1.Task) error {
	if t.Status.State == v1alpha1.TaskStateSucceeded {
		fmt.Fprintln(w, outcomeLine(t))
		return nil
	}
	err := errors.New(outcomeLine(t))
	if code := t.Status.ExitCode; t.Status.State == v1alpha1.TaskStateFailed && code != nil && *code > 0 && *code < 256 {
		return exitError{err: err, code: int(*code)}
	}
	return err
}

// exitError is a failure that ends the plugin with code rather than 1.
type exitError struct {
	err  error
	code int
}

func (e exitError) Error() string { return e.err.Error() }

// outcomeLine says how a finished Task ended.
func outcomeLine(t *v1alpha1.Task) string {
	switch t.Status.State {
	case v1alpha1.TaskStateSucceeded:
		if t.Status.Duration == nil {
			return describe(t) + " succeeded"
		}
		return fmt.Sprintf("%s succeeded in %s", describe(t), FormatElapsed(t.Status.Duration.Duration))
	case v1alpha1.TaskStateCancelled:
		return describe(t) + " was cancelled"
	}
	return fmt.Sprintf("%s failed: %s", describe(t), failureReason(t))
}

// failureReason is why a Task failed, in taskgate's words.
func failureReason(t *v1alpha1.Task) string {
	if t.Status.FailureReason != "" {
		return t.Status.FailureReason
	}
	for _, c := range t.Status.Conditions {
		if c.Type == v1alpha1.ConditionSucceeded && c.Message != "" {
			return c.Message
		}
	}
	return "taskgate gave no reason"
}
