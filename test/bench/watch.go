package bench

import (
	"context"
	"fmt"
	"sync"
	"time"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	taskgatev1alpha1 "github.com/taskgate/taskgate/api/v1alpha1"
)

// taskSeen is when the bench's watch first saw an object in each phase.
type taskSeen struct {
	Created, Finished, Deleted time.Time
}

// taskWatch follows the objects of one kind in one namespace and stamps
// each transition with the time its event arrived, which is as close as a
// client can get to when the cluster made it.
type taskWatch struct {
	mu    sync.Mutex
	tasks map[string]*taskSeen
	live  int
	err   error
	stop  func()
}

// watchTasks follows Tasks; one is finished when its state says so.
func (e *Env) watchTasks(ctx context.Context, ns string) (*taskWatch, error) {
	return e.watch(ctx, ns, &taskgatev1alpha1.TaskList{}, func(obj client.Object) bool {
		task, ok := obj.(*taskgatev1alpha1.Task)
		return ok && task.Status.State.IsFinished()
	})
}

// watchPipelineRuns follows PipelineRuns; one is finished when its
// Succeeded condition is no longer Unknown.
func (e *Env) watchPipelineRuns(ctx context.Context, ns string) (*taskWatch, error) {
	return e.watch(ctx, ns, &pipelinev1.PipelineRunList{}, func(obj client.Object) bool {
		pr, ok := obj.(*pipelinev1.PipelineRun)
		return ok && pr.IsDone()
	})
}

func (e *Env) watch(ctx context.Context, ns string, list client.ObjectList, finished func(client.Object) bool) (*taskWatch, error) {
	ctx, cancel := context.WithCancel(ctx)
	kind := fmt.Sprintf("%T", list)
	w, err := e.Client.Watch(ctx, list, client.InNamespace(ns))
	if err != nil {
		cancel()
		return nil, fmt.Errorf("watching %s: %w", kind, err)
	}
	tw := &taskWatch{tasks: map[string]*taskSeen{}, stop: cancel}
	go func() {
		defer func() { w.Stop() }()
		lastRV := ""
		for {
			for ev := range w.ResultChan() {
				if rv := tw.observe(ev, time.Now(), kind, finished); rv != "" {
					lastRV = rv
				}
			}
			if ctx.Err() != nil {
				return
			}
			// The apiserver may end a watch at any time; carry on from the
			// last event, as a reflector would.
			if w, err = e.Client.Watch(ctx, list, client.InNamespace(ns), &client.ListOptions{Raw: &metav1.ListOptions{ResourceVersion: lastRV}}); err != nil {
				tw.mu.Lock()
				tw.err = fmt.Errorf("watching %s again from %q: %w", kind, lastRV, err)
				tw.mu.Unlock()
				return
			}
			e.Logf("watch of %s restarted from resourceVersion %q", kind, lastRV)
		}
	}()
	return tw, nil
}

// observe records one event and returns its object's resourceVersion.
func (tw *taskWatch) observe(ev watch.Event, now time.Time, kind string, finished func(client.Object) bool) string {
	tw.mu.Lock()
	defer tw.mu.Unlock()
	if ev.Type == watch.Error {
		tw.err = fmt.Errorf("watching %s: %v", kind, ev.Object)
		return ""
	}
	obj, ok := ev.Object.(client.Object)
	if !ok || ev.Type == watch.Bookmark {
		if ok {
			return obj.GetResourceVersion()
		}
		return ""
	}
	s := tw.tasks[obj.GetName()]
	if s == nil {
		s = &taskSeen{Created: now}
		tw.tasks[obj.GetName()] = s
		tw.live++
	}
	if s.Finished.IsZero() && finished(obj) {
		s.Finished = now
	}
	if ev.Type == watch.Deleted && s.Deleted.IsZero() {
		s.Deleted = now
		tw.live--
	}
	return obj.GetResourceVersion()
}

// until polls the watch's state every few milliseconds until cond holds.
func (tw *taskWatch) until(ctx context.Context, timeout time.Duration, what string, cond func(tasks map[string]*taskSeen, live int) bool) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		tw.mu.Lock()
		ok, err := cond(tw.tasks, tw.live), tw.err
		tw.mu.Unlock()
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w", what, ctx.Err())
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// seen returns a copy of what the watch knows about one Task.
func (tw *taskWatch) seen(name string) taskSeen {
	tw.mu.Lock()
	defer tw.mu.Unlock()
	if s := tw.tasks[name]; s != nil {
		return *s
	}
	return taskSeen{}
}
