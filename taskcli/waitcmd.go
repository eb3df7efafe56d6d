package taskcli

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"
)

func newWaitCommand(o *Options) *cobra.Command {
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "wait (APP ID | TASK) [--timeout 10m]",
		Short: "Wait for a Task to end and exit with its result",
		Long: `Wait for a Task to end, watching it, and exit as run --wait does: 0 when it
succeeded, its command's exit status when that failed, 1 when it was cancelled,
failed without one, or the wait timed out (the Task then keeps running).`,
		Example: `  kubectl task wait shop 3
  kubectl task wait shop 3 --timeout 10m`,
		Args:              cobra.RangeArgs(1, 2),
		ValidArgsFunction: completeAppThenID(o, true),
		RunE: onTask(o, func(ctx context.Context, ref taskRef) error {
			if timeout < 0 {
				return fmt.Errorf("--timeout %s: want a duration of 0 or more, such as 10m (0 waits as long as it takes)", timeout)
			}
			if timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, timeout)
				defer cancel()
			}
			t, err := o.findTask(ctx, ref, "wait")
			if err != nil {
				return err
			}
			done, err := o.waitTask(ctx, t, nil)
			if err != nil {
				return err
			}
			return o.outcome(o.Out, done)
		}),
	}
	cmd.Flags().DurationVar(&timeout, "timeout", 0, "give up waiting after this long, such as 10m; 0 waits as long as it takes")
	return cmd
}
