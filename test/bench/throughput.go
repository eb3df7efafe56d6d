package bench

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/taskgate/taskgate/test/localcluster"
)

// PhaseTimes are measured from the first create.
type PhaseTimes struct {
	// Started: every object has a PipelineRun (for the floor, every
	// PipelineRun exists).
	Started time.Duration
	// Finished: every object has finished.
	Finished time.Duration
}

// ThroughputResult is one round: Tasks, and the floor of the same
// PipelineRuns created directly.
type ThroughputResult struct {
	Round        int
	Floor, Tasks PhaseTimes
	// ManagerRequests is how many requests the manager's client sent while
	// the Tasks ran, which its QPS budget bounds, by HTTP method.
	ManagerRequests map[string]float64
	// FloorWrites and TaskWrites are the writes kube-apiserver served in
	// each phase, from every client, by verb and resource.
	FloorWrites, TaskWrites map[string]float64
	// FloorCPU and TaskCPU are the CPU seconds each process on the
	// machine used in each phase, by command name.
	FloorCPU, TaskCPU map[string]float64
}

// requestsMetric counts client-go's requests, by method among others.
const requestsMetric = "rest_client_requests_total"

// requestMethods are the HTTP methods a Kubernetes client sends.
var requestMethods = []string{"GET", "POST", "PUT", "PATCH", "DELETE"}

// creators is how many clients create objects at once, like a CI system
// or a script fanning out.
const creators = 32

// Throughput creates n Tasks at once and, as the floor, n copies of the
// PipelineRun taskgate builds for such a Task, rounds times, alternating
// which goes first.
func (e *Env) Throughput(ctx context.Context, rounds, n int) ([]ThroughputResult, error) {
	template, err := e.pipelineRunTemplate(ctx)
	if err != nil {
		return nil, err
	}
	var results []ThroughputResult
	for round := 1; round <= rounds; round++ {
		res := ThroughputResult{Round: round}
		phases := []func() error{
			func() error { return e.floor(ctx, &res, n, template) },
			func() error { return e.tasks(ctx, &res, n) },
		}
		if round%2 == 0 {
			phases[0], phases[1] = phases[1], phases[0]
		}
		for _, phase := range phases {
			if err := phase(); err != nil {
				return results, err
			}
		}
		e.Logf("throughput, round %d: floor %+v, tasks %+v, manager requests %v; kube-apiserver writes: floor %v, tasks %v; CPU seconds: floor %v, tasks %v",
			round, res.Floor, res.Tasks, res.ManagerRequests, res.FloorWrites, res.TaskWrites, res.FloorCPU, res.TaskCPU)
		results = append(results, res)
	}
	return results, nil
}

// pipelineRunTemplate runs one Task and returns its PipelineRun stripped of
// what ties it to the Task, so the floor asks Tekton for the same work.
func (e *Env) pipelineRunTemplate(ctx context.Context) (*pipelinev1.PipelineRun, error) {
	ns := "bench-template"
	if err := e.createNamespace(ctx, ns, nil); err != nil {
		return nil, err
	}
	if err := e.Client.Create(ctx, benchApp(ns)); err != nil {
		return nil, fmt.Errorf("creating the App: %w", err)
	}
	task := capTask(ns, "template", "")
	if err := e.Client.Create(ctx, task); err != nil {
		return nil, fmt.Errorf("creating a Task: %w", err)
	}
	var pr pipelinev1.PipelineRun
	err := poll(ctx, 2*time.Minute, func() (bool, error) {
		if err := e.Client.Get(ctx, client.ObjectKeyFromObject(task), task); err != nil {
			return false, err
		}
		if task.Status.PipelineRunName == "" {
			return false, nil
		}
		err := e.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: task.Status.PipelineRunName}, &pr)
		return err == nil, client.IgnoreNotFound(err)
	})
	if err != nil {
		return nil, fmt.Errorf("waiting for the template Task's PipelineRun: %w", err)
	}
	return withoutTask(&pr), e.deleteNamespace(ctx, ns)
}

// withoutTask returns pr stripped of what ties it to its Task (name,
// owner, taskgate's and Tekton's labels), so copies of it ask Tekton for
// the same work directly.
func withoutTask(pr *pipelinev1.PipelineRun) *pipelinev1.PipelineRun {
	labels := map[string]string{}
	for k, v := range pr.Labels {
		if !strings.HasPrefix(k, "taskgate.dev/") && !strings.HasPrefix(k, "tekton.dev/") {
			labels[k] = v
		}
	}
	return &pipelinev1.PipelineRun{
		ObjectMeta: metav1.ObjectMeta{Labels: labels, Annotations: pr.Annotations},
		Spec:       *pr.Spec.DeepCopy(),
	}
}

// countPhase starts counting kube-apiserver's writes and each process's
// CPU; the function it returns gives both since.
func (e *Env) countPhase(ctx context.Context) (func() (writes, cpu map[string]float64, err error), error) {
	writes, err := e.apiserverWrites(ctx)
	if err != nil {
		return nil, err
	}
	cpu, err := cpuByCommand()
	if err != nil {
		return nil, err
	}
	return func() (map[string]float64, map[string]float64, error) {
		used, err := cpuSeconds(cpu)
		if err != nil {
			return nil, nil, err
		}
		after, err := e.apiserverWrites(ctx)
		if err != nil {
			return nil, nil, err
		}
		for k, v := range writes {
			if after[k] -= v; after[k] <= 0 {
				delete(after, k)
			}
		}
		return after, used, nil
	}, nil
}

// floor times n copies of template, created directly, into res.
func (e *Env) floor(ctx context.Context, res *ThroughputResult, n int, template *pipelinev1.PipelineRun) error {
	ns := fmt.Sprintf("bench-floor-%d", res.Round)
	if err := e.createNamespace(ctx, ns, nil); err != nil {
		return err
	}
	runs, err := e.watchPipelineRuns(ctx, ns)
	if err != nil {
		return err
	}
	defer runs.stop()
	counted, err := e.countPhase(ctx)
	if err != nil {
		return err
	}
	profiled := e.profileAPIServerFrom(ctx, fmt.Sprintf("apiserver-cpu-floor-%d", res.Round))
	start := time.Now()
	err = createAll(ctx, n, func(i int) error {
		pr := template.DeepCopy()
		pr.Namespace, pr.Name = ns, fmt.Sprintf("run-%05d", i)
		return e.Client.Create(ctx, pr)
	})
	if err != nil {
		return fmt.Errorf("creating PipelineRuns: %w", err)
	}
	if res.Floor, err = phaseTimes(ctx, start, n, runs, runs); err != nil {
		return fmt.Errorf("floor: %w", err)
	}
	if err := profiled(); err != nil {
		return err
	}
	if res.FloorWrites, res.FloorCPU, err = counted(); err != nil {
		return err
	}
	return e.deleteNamespace(ctx, ns)
}

// tasks times n Tasks, and counts the requests they cost, into res.
func (e *Env) tasks(ctx context.Context, res *ThroughputResult, n int) error {
	ns := fmt.Sprintf("bench-tasks-%d", res.Round)
	if err := e.createNamespace(ctx, ns, map[string]string{bulkLabel: "true"}); err != nil {
		return err
	}
	if err := e.Client.Create(ctx, benchApp(ns)); err != nil {
		return fmt.Errorf("creating the App: %w", err)
	}
	runs, err := e.watchPipelineRuns(ctx, ns)
	if err != nil {
		return err
	}
	defer runs.stop()
	tasks, err := e.watchTasks(ctx, ns)
	if err != nil {
		return err
	}
	defer tasks.stop()
	before, err := e.manager.Metrics()
	if err != nil {
		return err
	}
	counted, err := e.countPhase(ctx)
	if err != nil {
		return err
	}
	profiled := e.profileAPIServerFrom(ctx, fmt.Sprintf("apiserver-cpu-tasks-%d", res.Round))
	start := time.Now()
	err = createAll(ctx, n, func(i int) error {
		return e.Client.Create(ctx, capTask(ns, fmt.Sprintf("task-%05d", i), ""))
	})
	if err != nil {
		return fmt.Errorf("creating Tasks: %w", err)
	}
	if res.Tasks, err = phaseTimes(ctx, start, n, runs, tasks); err != nil {
		return fmt.Errorf("tasks: %w", err)
	}
	if err := profiled(); err != nil {
		return err
	}
	after, err := e.manager.Metrics()
	if err != nil {
		return err
	}
	res.ManagerRequests = map[string]float64{}
	for _, method := range requestMethods {
		if d := after[localcluster.ByMethod(requestsMetric, method)] - before[localcluster.ByMethod(requestsMetric, method)]; d > 0 {
			res.ManagerRequests[method] = d
		}
	}
	if res.TaskWrites, res.TaskCPU, err = counted(); err != nil {
		return err
	}
	return e.deleteNamespace(ctx, ns)
}

// phaseTimes waits until n objects have been seen in started and n have
// finished in finished, and returns both times from start.
func phaseTimes(ctx context.Context, start time.Time, n int, started, finished *taskWatch) (PhaseTimes, error) {
	var t PhaseTimes
	last := func(field func(*taskSeen) time.Time) func(map[string]*taskSeen, int) bool {
		return func(seen map[string]*taskSeen, _ int) bool {
			count := 0
			for _, s := range seen {
				if !field(s).IsZero() {
					count++
				}
			}
			return count >= n
		}
	}
	at := func(w *taskWatch, field func(*taskSeen) time.Time) time.Duration {
		w.mu.Lock()
		defer w.mu.Unlock()
		var latest time.Time
		for _, s := range w.tasks {
			if f := field(s); f.After(latest) {
				latest = f
			}
		}
		return latest.Sub(start)
	}
	created := func(s *taskSeen) time.Time { return s.Created }
	done := func(s *taskSeen) time.Time { return s.Finished }
	if err := started.until(ctx, 30*time.Minute, fmt.Sprintf("%d PipelineRuns", n), last(created)); err != nil {
		return t, err
	}
	t.Started = at(started, created)
	if err := finished.until(ctx, 60*time.Minute, fmt.Sprintf("%d to finish", n), last(done)); err != nil {
		return t, err
	}
	t.Finished = at(finished, done)
	return t, nil
}

// createAll runs create for 0..n-1 on creators goroutines and returns the
// first error.
func createAll(ctx context.Context, n int, create func(i int) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	next := make(chan int)
	var wg sync.WaitGroup
	var once sync.Once
	var first error
	for range creators {
		wg.Go(func() {
			for i := range next {
				if err := create(i); err != nil {
					once.Do(func() { first = err; cancel() })
				}
			}
		})
	}
feed:
	for i := range n {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	return first
}
