package taskcli

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/printers"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/taskgate/taskgate/api/v1alpha1"
)

func newListCommand(o *Options) *cobra.Command {
	var (
		output        string
		allNamespaces bool
	)
	cmd := &cobra.Command{
		Use:     "list [APP] [-A] [-o wide|json|yaml]",
		Aliases: []string{"ls"},
		Short:   "List Tasks by ID, with their state and duration",
		Long: `List the Tasks of an App, or of every App in the namespace, as cf tasks does:
by ID, with their display name, state, start time, how long they ran, their
age and command. -o wide adds the App, the exit code, the pod and why a Task
failed. -A lists every namespace's Tasks.`,
		Example: `  kubectl task list shop
  kubectl task list -o wide
  kubectl task list -A`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			switch output {
			case "", "wide", "json", "yaml":
			default:
				return fmt.Errorf("unsupported output format %q: use -o wide, -o json or -o yaml", output)
			}
			if err := o.complete(); err != nil {
				return err
			}
			app := ""
			if len(args) == 1 {
				app = args[0]
			}
			return o.list(cmd.Context(), app, output, allNamespaces)
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", "output format: wide, json or yaml")
	cmd.Flags().BoolVarP(&allNamespaces, "all-namespaces", "A", false, "list the Tasks of every namespace, as kubectl get -A does")
	return cmd
}

func (o *Options) list(ctx context.Context, app, output string, allNamespaces bool) error {
	var opts []client.ListOption
	where := "namespace " + o.namespace
	if allNamespaces {
		where = "any namespace"
	} else {
		opts = append(opts, client.InNamespace(o.namespace))
	}
	if app != "" {
		opts = append(opts, client.MatchingLabels{v1alpha1.LabelApp: app})
	}
	var tasks v1alpha1.TaskList
	if err := o.client.List(ctx, &tasks, opts...); err != nil {
		return fmt.Errorf("listing Tasks in %s: %w", where, apiError(err))
	}
	if len(tasks.Items) == 0 && app != "" && !allNamespaces {
		// Say whether the App has no Tasks or does not exist.
		if _, err := o.getApp(ctx, app); err != nil {
			return err
		}
	}
	SortTasks(tasks.Items)

	switch output {
	case "json", "yaml":
		tasks.SetGroupVersionKind(v1alpha1.GroupVersion.WithKind("TaskList"))
		for i := range tasks.Items {
			tasks.Items[i].SetGroupVersionKind(v1alpha1.GroupVersion.WithKind("Task"))
		}
		var p printers.ResourcePrinter = &printers.JSONPrinter{}
		if output == "yaml" {
			p = &printers.YAMLPrinter{}
		}
		return p.PrintObj(&tasks, o.Out)
	}
	if len(tasks.Items) == 0 {
		if app != "" {
			fmt.Fprintf(o.ErrOut, "App %s has no Tasks in %s; run one with kubectl task run %s -c COMMAND\n", app, where, app)
		} else {
			fmt.Fprintf(o.ErrOut, "No Tasks found in %s.\n", where)
		}
		return nil
	}
	now := o.Clock.Now()
	rows := make([]Row, 0, len(tasks.Items))
	for i := range tasks.Items {
		rows = append(rows, NewRow(&tasks.Items[i], now))
	}
	return WriteTable(o.Out, rows, TableOptions{Wide: output == "wide", ShowApp: app == "", ShowNamespace: allNamespaces})
}
