package taskcli

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/cli-runtime/pkg/printers"
	"k8s.io/kubectl/pkg/cmd/get"

	"github.com/taskgate/taskgate/api/v1alpha1"
)

// newGetCommand returns `get`, one Task's details, as cf task APP ID
// shows them. The root command runs it too, for `kubectl task APP ID`.
func newGetCommand(o *Options) *cobra.Command {
	printFlags := newGetPrintFlags()
	cmd := &cobra.Command{
		Use:   "get (APP ID | TASK) [-o wide|custom-columns=...|json|yaml|name|jsonpath=...]",
		Short: "Show one Task: its ID, names, state, times, command and resources",
		Long: `Show one Task, as cf task APP ID does. kubectl task APP ID is the same command.
-o prints it through kubectl get's printers instead: -o wide as the row that
kubectl task list -o wide shows, custom-columns, json, yaml, name, jsonpath
and go-template from the Task object.`,
		Example: `  kubectl task get shop 3
  kubectl task shop 3
  kubectl task get shop 3 -o jsonpath='{.status.exitCode}'
  kubectl task get shop 3 -o custom-columns=ID:.status.id,POD:.status.podName`,
		Args:              cobra.RangeArgs(1, 2),
		ValidArgsFunction: completeAppThenID(o, true),
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.runGet(cmd.Context(), printFlags, args)
		},
	}
	printFlags.AddFlags(cmd)
	return cmd
}

// newGetPrintFlags are kubectl get's print flags for one Task, which has
// nothing to sort.
func newGetPrintFlags() *get.PrintFlags {
	f := get.NewGetPrintFlags()
	f.HumanReadableFlags.SortBy = nil
	return f
}

// runGet shows the Task that args name: its details, or what -o asks for.
func (o *Options) runGet(ctx context.Context, printFlags *get.PrintFlags, args []string) error {
	ref, err := parseTaskRef(args)
	if err != nil {
		return err
	}
	// Without -o (or --template), the details; the human-readable
	// printer's table is -o wide.
	details := *printFlags.OutputFormat == "" && tablePrinting(printFlags)
	var printer printers.ResourcePrinter
	if !details {
		if printer, err = taskPrinter(printFlags, false); err != nil {
			return err
		}
	}
	if err := o.complete(); err != nil {
		return err
	}
	t, err := o.findTask(ctx, ref, "get")
	if err != nil {
		return err
	}
	if details {
		return WriteDetails(o.Out, Details(t, o.Clock.Now()))
	}
	// Read again as kubectl get would, for the server's Table row or the
	// object as the server serves it.
	obj, err := o.readTasks(taskQuery{name: t.Name}, tablePrinting(printFlags))
	if err != nil {
		return fmt.Errorf("reading Task %s: %w", t.Name, err)
	}
	return printer.PrintObj(obj, o.Out)
}

// Details are one Task's fields as get shows them, in order: cf task's
// fields first, then taskgate's.
func Details(t *v1alpha1.Task, now time.Time) [][2]string {
	r := NewRow(t, now)
	d := [][2]string{
		{"id", r.ID},
		{"name", r.DisplayName},
		{"task", r.Name},
		{"app", r.App},
		{"state", r.State},
		{"start time", r.Started},
		{"duration", r.Duration},
		{"command", r.Command},
	}
	var limits corev1.ResourceList
	if t.Spec.Resolved != nil {
		limits = t.Spec.Resolved.Resources.Limits
	}
	for _, res := range []struct {
		label string
		name  corev1.ResourceName
	}{{"cpu", corev1.ResourceCPU}, {"memory", corev1.ResourceMemory}, {"disk", corev1.ResourceEphemeralStorage}} {
		v := none
		if q, ok := limits[res.name]; ok {
			v = q.String()
		}
		d = append(d, [2]string{res.label, v})
	}
	return append(d,
		[2]string{"exit code", r.ExitCode},
		[2]string{"failure reason", r.Reason},
		[2]string{"pod", r.Pod},
		[2]string{"age", r.Age},
	)
}

// WriteDetails writes fields as "key:" and the value, in aligned columns.
func WriteDetails(w io.Writer, fields [][2]string) error {
	tw := tabwriter.NewWriter(w, 0, 8, 3, ' ', 0)
	for _, f := range fields {
		// A tab or newline in a value would break the columns.
		_, _ = fmt.Fprintf(tw, "%s:\t%s\n", f[0], strings.NewReplacer("\t", " ", "\n", " ").Replace(f[1]))
	}
	return tw.Flush()
}

// rootArgs checks the root command's arguments: none (help) or APP ID,
// so that a mistyped command is reported as one.
func rootArgs(cmd *cobra.Command, args []string) error {
	switch len(args) {
	case 0:
		return nil
	case 2:
		if _, err := strconv.ParseInt(args[1], 10, 64); err == nil {
			return nil
		}
	}
	return fmt.Errorf("unknown command %q for %q: run kubectl task --help, or kubectl task APP ID to show one Task", args[0], "kubectl task")
}
