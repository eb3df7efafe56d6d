package taskcli

import (
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/taskgate/taskgate/api/v1alpha1"
)

// completeAppThenID completes the first argument with the namespace's
// Apps and, when withID, the second with that App's Task IDs. kubectl
// runs it through kubectl_complete-task, which calls `kubectl task
// __complete`.
func completeAppThenID(o *Options, withID bool) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) > 1 || (len(args) == 1 && !withID) {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		if err := o.complete(); err != nil {
			return nil, cobra.ShellCompDirectiveError
		}
		var out []string
		if len(args) == 0 {
			out = o.appNames(cmd.Context())
		} else {
			var tasks v1alpha1.TaskList
			if err := o.client.List(cmd.Context(), &tasks, client.InNamespace(o.namespace), client.MatchingLabels{v1alpha1.LabelApp: args[0]}); err != nil {
				return nil, cobra.ShellCompDirectiveError
			}
			SortTasks(tasks.Items)
			for _, t := range tasks.Items {
				if t.Status.ID != 0 {
					out = append(out, strconv.FormatInt(t.Status.ID, 10)+"\t"+displayState(&t)+" "+commandOf(&t))
				}
			}
		}
		return slices.DeleteFunc(out, func(s string) bool { return !strings.HasPrefix(s, toComplete) }), cobra.ShellCompDirectiveNoFileComp
	}
}
