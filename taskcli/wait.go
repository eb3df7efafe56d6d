package taskcli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/taskgate/taskgate/api/v1alpha1"
)

// logTarget asks a wait to stream the Task's logs to out while it runs.
type logTarget struct {
	out io.Writer
	// tail limits the first read to the last lines; nil reads them all.
	tail *int64
	// sinceSeconds limits the first read to the lines this recent; nil
	// reads them all.
	sinceSeconds *int64
	// timestamps begins each line with the time it was written.
	timestamps bool
}

// waitTask watches the Task until it finishes and returns it as it ended,
// showing progress on ErrOut. With logs, it also streams the Task's logs
// from when its pod starts until it finishes.
func (o *Options) waitTask(ctx context.Context, t *v1alpha1.Task, logs *logTarget) (*v1alpha1.Task, error) {
	begin := o.Clock.Now()
	p := &progress{w: o.ErrOut, terminal: o.Terminal}
	defer p.done()

	// The watch runs beside the logs: each version of the Task replaces
	// an unread older one, as only the latest matters.
	watchCtx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	updates := make(chan *v1alpha1.Task, 1)
	watchEnd := make(chan error, 1)
	go func() {
		_, err := o.untilTask(watchCtx, t, func(task *v1alpha1.Task) bool {
			select {
			case <-updates:
			default:
			}
			updates <- task
			return task.Status.State.IsFinished()
		})
		watchEnd <- err
	}()
	// A terminal's progress line counts the seconds; elsewhere a line is
	// written only on a change of state, so no clock is needed.
	var redraw <-chan time.Time
	if o.Terminal {
		ticker := o.Clock.NewTicker(time.Second)
		defer ticker.Stop()
		redraw = ticker.C()
	}
	var (
		stream  *logStream
		logsErr error
		logsEnd bool // the stream ended by itself, as when the container exits
		retry   <-chan time.Time
	)
	defer func() {
		if stream != nil {
			stream.close()
		}
	}()

	for !t.Status.State.IsFinished() {
		// A terminal shows the logs and the progress line in one place:
		// the line gives way once the logs flow.
		if stream == nil || !o.Terminal {
			p.task(t, o.Clock.Since(begin))
		}
		if logs != nil && stream == nil && !logsEnd && retry == nil {
			pod, err := o.podOf(ctx, t)
			switch {
			case err != nil:
				logsErr = err
				retry = o.Clock.After(o.LogRetry)
			case pod != "":
				p.done()
				stream = o.streamLogs(ctx, pod, true, logs)
			case t.Status.State == v1alpha1.TaskStateRunning:
				// Running, but its pod is not known yet: look again.
				retry = o.Clock.After(o.LogRetry)
			}
		}
		var streamDone <-chan struct{}
		if stream != nil {
			streamDone = stream.finished
		}
		select {
		case <-ctx.Done():
			p.done()
			return t, fmt.Errorf("stopped waiting; %s keeps running (stop it with kubectl task terminate %s)", describe(t), t.Name)
		case <-streamDone:
			// Retry a stream that ended before it showed anything: one
			// asked for before the container started fails, and one
			// opened as the container starts can end empty without an
			// error. If the Task ends first, its logs are read whole below.
			logsEnd, logsErr = stream.wrote.Load(), stream.err
			stream = nil
			if !logsEnd {
				retry = o.Clock.After(o.LogRetry)
			}
		case <-retry:
			retry = nil
		case <-redraw:
		case latest := <-updates:
			t = latest
		case err := <-watchEnd:
			switch {
			case errors.Is(err, errTaskDeleted):
				return t, fmt.Errorf("%s was deleted while it was being waited for", describe(t))
			case err != nil && ctx.Err() == nil:
				return t, apiError(err)
			case err == nil:
				// The watch saw the end; its last version is waiting.
				t = <-updates
			}
		}
	}
	p.done()
	if logs == nil {
		return t, nil
	}
	switch {
	case stream != nil:
		// A kubelet ends the stream when the container exits, which is
		// before taskgate reports the end; give the tail a moment.
		select {
		case <-stream.finished:
		case <-o.Clock.After(o.LogGrace):
		}
		stream.close()
		if stream.err != nil {
			fmt.Fprintf(o.ErrOut, "warning: the logs of %s were cut short: %v\n", describe(t), stream.err)
		}
	case !logsEnd:
		// The Task ended before its logs could be followed: show them
		// now, if its pod is still there.
		if err := o.showLogs(ctx, t, logs); err != nil {
			fmt.Fprintf(o.ErrOut, "warning: cannot show the logs of %s: %v\n", describe(t), err)
		}
	case logsErr != nil:
		fmt.Fprintf(o.ErrOut, "warning: the logs of %s were cut short: %v\n", describe(t), logsErr)
	}
	return t, nil
}

// errNoPod says that a Task has no pod to read logs from.
var errNoPod = errors.New("it has no pod")

// logStream copies one pod's step logs in the background.
type logStream struct {
	cancel context.CancelFunc
	// finished is closed when the copy ends; err is then its outcome.
	finished chan struct{}
	err      error
	// wrote says that some logs were written, so a retry would repeat
	// them.
	wrote atomic.Bool
}

// streamLogs starts copying the step container's logs of pod to the
// target; with follow, until the container ends or close is called.
func (o *Options) streamLogs(ctx context.Context, pod string, follow bool, to *logTarget) *logStream {
	ctx, cancel := context.WithCancel(ctx)
	s := &logStream{cancel: cancel, finished: make(chan struct{})}
	go func() {
		defer close(s.finished)
		defer cancel()
		req := o.pods.CoreV1().Pods(o.namespace).GetLogs(pod, &corev1.PodLogOptions{
			Container:    StepContainer,
			Follow:       follow,
			TailLines:    to.tail,
			SinceSeconds: to.sinceSeconds,
			Timestamps:   to.timestamps,
		})
		rc, err := req.Stream(ctx)
		if err != nil {
			s.err = err
			return
		}
		defer rc.Close()
		_, err = io.Copy(writerFunc(func(b []byte) (int, error) {
			s.wrote.Store(true)
			return to.out.Write(b)
		}), rc)
		if ctx.Err() == nil {
			s.err = err // not closed on purpose
		}
	}()
	return s
}

// close stops the copy and waits for it to end.
func (s *logStream) close() {
	s.cancel()
	<-s.finished
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(b []byte) (int, error) { return f(b) }

// showLogs copies the logs that t's pod has so far to the target, or
// returns why it cannot, as logsUnavailable words it.
func (o *Options) showLogs(ctx context.Context, t *v1alpha1.Task, to *logTarget) error {
	pod, err := o.podOf(ctx, t)
	switch {
	case err != nil:
	case pod == "":
		err = errNoPod
	default:
		s := o.streamLogs(ctx, pod, false, to)
		<-s.finished
		err = s.err
	}
	if err != nil {
		return logsUnavailable(t, err)
	}
	return nil
}

// logsUnavailable explains why a Task's logs cannot be read, where the
// API error alone would not say.
func logsUnavailable(t *v1alpha1.Task, err error) error {
	if !apierrors.IsNotFound(err) && !errors.Is(err, errNoPod) {
		return err
	}
	switch t.Status.State {
	case v1alpha1.TaskStateCancelled:
		return fmt.Errorf("it was cancelled, and its pod is gone with its logs: Tekton deletes the pod of a cancelled or timed-out run unless its feature flag keep-pod-on-cancel is \"true\" (docs/install.md, Tekton); keep logs with cluster logging")
	case v1alpha1.TaskStateFailed, v1alpha1.TaskStateSucceeded:
		return fmt.Errorf("its pod no longer exists, and its logs went with it; keep logs with cluster logging")
	}
	return fmt.Errorf("it has no pod yet (state %s); add -f to wait for its logs", displayState(t))
}
