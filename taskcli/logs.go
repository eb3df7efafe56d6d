package taskcli

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"
)

func newLogsCommand(o *Options) *cobra.Command {
	var (
		follow     bool
		tail       int64
		since      time.Duration
		timestamps bool
	)
	cmd := &cobra.Command{
		Use:   "logs (APP ID | TASK) [-f] [--tail N] [--since 5m] [--timestamps]",
		Short: "Show the logs of one Task",
		Long: `Show the logs of one Task: the output of its command, from its pod. Name the
Task by its App and ID, as cf does, or by its name. With -f, the command ends
when the Task does, and exits as run --wait does: 0 when it succeeded, its
command's exit status when that failed, 1 when it was cancelled or failed
without one.

The logs live as long as the Task's pod. That of a cancelled or timed-out Task
is kept when Tekton runs with keep-pod-on-cancel, as docs/install.md asks;
without it, Tekton deletes the pod and its logs. Keep logs past a Task's life
with cluster logging.`,
		Example: `  # The logs of the third Task of App shop
  kubectl task logs shop 3

  # Follow a running Task's logs until it ends
  kubectl task logs shop-8h2kd -f`,
		Args:              cobra.RangeArgs(1, 2),
		ValidArgsFunction: completeAppThenID(o, true),
		RunE: onTask(o, func(ctx context.Context, ref taskRef) error {
			to := &logTarget{out: o.Out, timestamps: timestamps}
			if tail >= 0 {
				to.tail = &tail
			}
			if since < 0 {
				return fmt.Errorf("--since %s: want a duration such as 5m or 1h", since)
			}
			if since > 0 {
				// The kubelet counts in whole seconds; round up so that
				// nothing asked for is left out.
				to.sinceSeconds = new(int64((since + time.Second - 1) / time.Second))
			}
			return o.logs(ctx, ref, follow, to)
		}),
	}
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "stream the logs until the Task ends, waiting for it to start if needed")
	cmd.Flags().Int64Var(&tail, "tail", -1, "show only the last N lines; -1 shows all")
	cmd.Flags().DurationVar(&since, "since", 0, "show only lines newer than this, such as 5m or 1h, as kubectl logs --since does")
	cmd.Flags().BoolVar(&timestamps, "timestamps", false, "begin each line with the time it was written (RFC 3339), as kubectl logs --timestamps does")
	return cmd
}

func (o *Options) logs(ctx context.Context, ref taskRef, follow bool, to *logTarget) error {
	t, err := o.findTask(ctx, ref, "logs")
	if err != nil {
		return err
	}
	if follow && !t.Status.State.IsFinished() {
		done, err := o.waitTask(ctx, t, to)
		if err != nil {
			return err
		}
		// As run --wait does, so that a script following a Task sees how
		// it ended.
		return o.outcome(o.ErrOut, done)
	}
	if err := o.showLogs(ctx, t, to); err != nil {
		return fmt.Errorf("cannot show the logs of %s: %w", describe(t), err)
	}
	if follow {
		// A Task that had already ended: -f still exits with its result.
		return o.outcome(o.ErrOut, t)
	}
	return nil
}
