package taskcli

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/printers"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/taskgate/taskgate/api/v1alpha1"
)

func newListCommand(o *Options) *cobra.Command {
	var (
		allNamespaces, noHeaders bool
		printFlags               = genericclioptions.NewPrintFlags("")
	)
	cmd := &cobra.Command{
		Use:     "list [APP] [-A] [-o wide|json|yaml|name|jsonpath=...] [--no-headers]",
		Aliases: []string{"ls"},
		Short:   "List Tasks by ID, with their state and duration",
		Long: `List the Tasks of an App, or of every App in the namespace, as cf tasks does:
by ID, with their display name, state, start time, how long they ran, their
age and command. -o wide adds the App, the exit code, the pod and why a Task
failed. -A lists every namespace's Tasks. -o json, yaml, name, jsonpath and
go-template print the TaskList through kubectl's printers.`,
		Example: `  kubectl task list shop
  kubectl task list -o wide
  kubectl task list -A
  kubectl task list shop -o jsonpath='{range .items[*]}{.status.id} {.status.state}{"\n"}{end}'`,
		Args:              cobra.MaximumNArgs(1),
		ValidArgsFunction: completeAppThenID(o, false),
		RunE: func(cmd *cobra.Command, args []string) error {
			output := *printFlags.OutputFormat
			var printer printers.ResourcePrinter
			if output != "" && output != "wide" {
				p, err := printFlags.WithTypeSetter(o.scheme).ToPrinter()
				if err != nil {
					if genericclioptions.IsNoCompatiblePrinterError(err) {
						return fmt.Errorf("unsupported output format %q: use -o wide, or one of %s", output, strings.Join(printFlags.AllowedFormats(), ", "))
					}
					return err
				}
				printer = p
			}
			if err := o.complete(); err != nil {
				return err
			}
			app := ""
			if len(args) == 1 {
				app = args[0]
			}
			if output == "name" {
				// The name printer takes one object at a time, as
				// kubectl get -o name feeds it.
				printer = eachItem{printer}
			}
			return o.list(cmd.Context(), app, printer, TableOptions{Wide: output == "wide", ShowApp: app == "", ShowNamespace: allNamespaces, NoHeaders: noHeaders})
		},
	}
	printFlags.AddFlags(cmd)
	cmd.Flags().Lookup("output").Usage = "output format: wide, or one of " + strings.Join(printFlags.AllowedFormats(), ", ")
	cmd.Flags().BoolVar(&noHeaders, "no-headers", false, "print the table without its header line")
	cmd.Flags().BoolVarP(&allNamespaces, "all-namespaces", "A", false, "list the Tasks of every namespace, as kubectl get -A does")
	return cmd
}

func (o *Options) list(ctx context.Context, app string, printer printers.ResourcePrinter, table TableOptions) error {
	var opts []client.ListOption
	where := "namespace " + o.namespace
	allNamespaces := table.ShowNamespace
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

	if printer != nil {
		// The type setter names the list; its items need their kind for
		// -o name and for a list that can be applied again.
		for i := range tasks.Items {
			tasks.Items[i].SetGroupVersionKind(v1alpha1.GroupVersion.WithKind("Task"))
		}
		return printer.PrintObj(&tasks, o.Out)
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
	return WriteTable(o.Out, rows, table)
}

// eachItem prints a list's items one by one with a printer that takes no
// lists.
type eachItem struct{ printers.ResourcePrinter }

func (p eachItem) PrintObj(obj runtime.Object, w io.Writer) error {
	items, err := meta.ExtractList(obj)
	if err != nil {
		return p.ResourcePrinter.PrintObj(obj, w)
	}
	for _, item := range items {
		if err := p.ResourcePrinter.PrintObj(item, w); err != nil {
			return err
		}
	}
	return nil
}
