package bench

import (
	"context"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	taskgatev1alpha1 "github.com/taskgate/taskgate/api/v1alpha1"
	"github.com/taskgate/taskgate/test/localcluster"
)

// CapResult is the cap's convergence times.
type CapResult struct {
	// AfterFinish: a Task already past the cap finishes; until it is gone.
	AfterFinish []time.Duration
	// AfterCreate: a new Task puts the App over the cap while an old one
	// has finished; until the old one is gone.
	AfterCreate []time.Duration
	// Discarded counts samples whose slow Task finished before it was past
	// the cap, which measure nothing.
	Discarded int
}

// slowRunTime keeps a sample's first Task running while the next capTasks
// Tasks are created, so it is past the cap when it finishes.
const slowRunTime = "4s"

func capTask(ns, name string, runTime string) *taskgatev1alpha1.Task {
	t := &taskgatev1alpha1.Task{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       taskgatev1alpha1.TaskSpec{AppRef: taskgatev1alpha1.AppReference{Name: "web"}, Command: "rake report"},
	}
	if runTime != "" {
		t.Annotations = map[string]string{localcluster.AnnotationRunTime: runTime}
	}
	return t
}

// CapConvergence measures how fast an App capped at capTasks gets back to
// the cap, in samples rounds.
func (e *Env) CapConvergence(ctx context.Context, samples int) (*CapResult, error) {
	ns := capNamespace
	if err := e.createNamespace(ctx, ns, nil); err != nil {
		return nil, err
	}
	if err := e.Client.Create(ctx, benchApp(ns)); err != nil {
		return nil, fmt.Errorf("creating the App: %w", err)
	}
	tw, err := e.watchTasks(ctx, ns)
	if err != nil {
		return nil, err
	}
	defer tw.stop()
	// Start at the cap, every Task finished.
	for i := range capTasks {
		if err := e.Client.Create(ctx, capTask(ns, fmt.Sprintf("seed-%d", i), "")); err != nil {
			return nil, fmt.Errorf("creating a Task: %w", err)
		}
	}
	err = tw.until(ctx, 5*time.Minute, "the first Tasks to finish", func(tasks map[string]*taskSeen, _ int) bool {
		for i := range capTasks {
			if s := tasks[fmt.Sprintf("seed-%d", i)]; s == nil || s.Finished.IsZero() {
				return false
			}
		}
		return true
	})
	if err != nil {
		return nil, err
	}
	res := &CapResult{}
	// atCap creates a Task and times it until the count is back at the cap.
	atCap := func(task *taskgatev1alpha1.Task) error {
		if err := e.Client.Create(ctx, task); err != nil {
			return fmt.Errorf("creating a Task: %w", err)
		}
		created := time.Now()
		var back time.Time
		err := tw.until(ctx, time.Minute, "the count to come back to the cap", func(tasks map[string]*taskSeen, live int) bool {
			if _, ok := tasks[task.Name]; !ok || live > capTasks {
				return false
			}
			for _, s := range tasks {
				if s.Deleted.After(back) {
					back = s.Deleted
				}
			}
			return true
		})
		res.AfterCreate = append(res.AfterCreate, back.Sub(created))
		return err
	}
	for i := range samples {
		slow := capTask(ns, fmt.Sprintf("slow-%03d", i), slowRunTime)
		if err := atCap(slow); err != nil {
			return res, err
		}
		for j := range capTasks - 1 {
			if err := atCap(capTask(ns, fmt.Sprintf("quick-%03d-%d", i, j), "")); err != nil {
				return res, err
			}
		}
		// The last quick Task puts the slow one past the cap; it stays, as
		// it is running, until it finishes.
		last := capTask(ns, fmt.Sprintf("quick-%03d-%d", i, capTasks-1), "")
		if err := e.Client.Create(ctx, last); err != nil {
			return res, fmt.Errorf("creating a Task: %w", err)
		}
		lastCreated := time.Now()
		err := tw.until(ctx, 2*time.Minute, "the slow Task to be pruned", func(tasks map[string]*taskSeen, _ int) bool {
			s := tasks[slow.Name]
			return s != nil && !s.Deleted.IsZero()
		})
		if err != nil {
			return res, err
		}
		s := tw.seen(slow.Name)
		if s.Finished.IsZero() || s.Finished.Before(lastCreated) {
			res.Discarded++ // it finished before it was past the cap
			continue
		}
		res.AfterFinish = append(res.AfterFinish, s.Deleted.Sub(s.Finished))
	}
	e.Logf("cap: %d samples after finish, %d after create, %d discarded", len(res.AfterFinish), len(res.AfterCreate), res.Discarded)
	return res, e.deleteNamespace(ctx, ns)
}
