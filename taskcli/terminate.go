package taskcli

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/taskgate/taskgate/api/v1alpha1"
)

// cancelPatch asks taskgate to cancel a Task.
var cancelPatch = []byte(`{"spec":{"desiredState":"` + string(v1alpha1.DesiredStateCancelled) + `"}}`)

// terminateWait bounds how long terminate waits to see the Task cancelled.
const terminateWait = 10 * time.Second

func newTerminateCommand(o *Options) *cobra.Command {
	return &cobra.Command{
		Use:   "terminate (APP ID | TASK)",
		Short: "Cancel a running or pending Task",
		Long: `Cancel a Task that has not finished, as cf terminate-task does. A cancel cannot
be withdrawn, and a finished Task cannot be cancelled. Tekton deletes the
pod of a cancelled Task, and its logs with it.`,
		Example:           `  kubectl task terminate shop 3`,
		Args:              cobra.RangeArgs(1, 2),
		ValidArgsFunction: completeAppThenID(o, true),
		RunE: onTask(o, func(ctx context.Context, ref taskRef) error {
			return o.terminate(ctx, ref)
		}),
	}
}

func (o *Options) terminate(ctx context.Context, ref taskRef) error {
	t, err := o.findTask(ctx, ref, "terminate")
	if err != nil {
		return err
	}
	if t.Spec.DesiredState == v1alpha1.DesiredStateCancelled {
		switch {
		case t.Status.State == v1alpha1.TaskStateCancelled:
			fmt.Fprintf(o.Out, "%s is already cancelled\n", describe(t))
			return nil
		case t.Status.State.IsFinished():
			return fmt.Errorf("Task state is %s and therefore cannot be cancelled", t.Status.State)
		}
		fmt.Fprintf(o.Out, "%s is already being cancelled\n", describe(t))
		return nil
	}
	// The webhook refuses to cancel a finished Task, in words that say
	// so; they are passed on as they are.
	if err := o.client.Patch(ctx, t, client.RawPatch(types.MergePatchType, cancelPatch)); err != nil {
		return apiError(err)
	}

	// taskgate cancels within a second or two; say when it has.
	waitCtx, cancel := context.WithTimeout(ctx, terminateWait)
	defer cancel()
	// Whatever ends the watch, the last version seen says how far it got.
	t, _ = o.untilTask(waitCtx, t, func(t *v1alpha1.Task) bool { return t.Status.State.IsFinished() })
	switch t.Status.State {
	case v1alpha1.TaskStateCancelled:
		fmt.Fprintf(o.Out, "%s cancelled\n", describe(t))
	case v1alpha1.TaskStateSucceeded, v1alpha1.TaskStateFailed:
		// It ended on its own before taskgate could stop it.
		fmt.Fprintf(o.Out, "%s finished before it could be cancelled: %s\n", describe(t), outcomeLine(t))
	default:
		fmt.Fprintf(o.Out, "%s is being cancelled (state %s)\n", describe(t), displayState(t))
	}
	return nil
}
