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
			out = o.names(cmd.Context(), namedApps)
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

// completeSchedule completes the first argument with the namespace's
// TaskSchedules.
func completeSchedule(o *Options) cobra.CompletionFunc {
	flag := completeScheduleFlag(o)
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return flag(cmd, args, toComplete)
	}
}

// completeScheduleFlag completes a flag's value with the namespace's
// TaskSchedules, each with its App and cron expression, whatever the
// arguments before it.
func completeScheduleFlag(o *Options) cobra.CompletionFunc {
	return func(cmd *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if err := o.complete(); err != nil {
			return nil, cobra.ShellCompDirectiveError
		}
		var list v1alpha1.TaskScheduleList
		if err := o.client.List(cmd.Context(), &list, client.InNamespace(o.namespace)); err != nil {
			return nil, cobra.ShellCompDirectiveError
		}
		var out []string
		for _, ts := range list.Items {
			if strings.HasPrefix(ts.Name, toComplete) {
				out = append(out, ts.Name+"\t"+ts.Spec.AppRef.Name+" "+ts.Spec.Schedule)
			}
		}
		slices.Sort(out)
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}
