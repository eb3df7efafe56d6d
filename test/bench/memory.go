package bench

import (
	"context"
	"fmt"
	"sync"
	"time"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"
	"knative.dev/pkg/apis"
	"sigs.k8s.io/controller-runtime/pkg/client"

	taskgatev1alpha1 "github.com/taskgate/taskgate/api/v1alpha1"
)

// memoryNamespaces spreads the memory figure's objects, as teams would.
const memoryNamespaces = 10

// benchJobController is the spec.managedBy of the memory figure's Jobs: the
// in-tree Job controller leaves them alone and the bench writes their
// status, so 50k Jobs need no 50k pods (which taskgate does not cache).
const benchJobController = "bench.taskgate.dev/completer"

// MemorySample is the manager's memory at one moment, and its peak RSS
// until then. RSS splits into Anon (the Go runtime's memory) and File (the
// binary's pages it has touched); HeapInuse is the heap's spans in use,
// HeapKept the heap freed but not yet returned to the kernel.
type MemorySample struct {
	RSS, PeakRSS, Anon, File, HeapInuse, HeapKept int64
}

// MemoryResult is the manager's memory with the cluster full of finished
// Jobs and Tasks.
type MemoryResult struct {
	Jobs, Tasks int
	// Loaded is the manager that reconciled all of it, 30 s after its
	// queues drained; LoadedIdle is the same after its next garbage
	// collection; Fresh is a new process started afterwards, once its
	// caches have synced and its queues drained.
	Loaded, LoadedIdle, Fresh MemorySample
	// Fill is how long filling the cluster took.
	Fill time.Duration
	// PeakQueued is the most items the manager's work queues held
	// together while the cluster filled, sampled every second: the
	// backlog whose size the queues' maps keep.
	PeakQueued int
	How        string
}

// Memory fills the cluster with jobs finished Jobs and tasks finished
// Tasks and measures the manager. Tekton's controller is stopped first: a
// 2-core machine would need most of an hour to run 10k PipelineRuns, so the
// bench does Tekton's writes itself (a TaskRun per PipelineRun, both marked
// Succeeded with the specs copied into status, as Tekton records them).
// Everything the manager caches is there, at full size. Run it last.
func (e *Env) Memory(ctx context.Context, jobs, tasks int) (*MemoryResult, error) {
	res := &MemoryResult{Jobs: jobs, Tasks: tasks, How: "Tekton's controller stopped; the bench created each PipelineRun's TaskRun and wrote both statuses as Tekton would. Jobs carry spec.managedBy, so their Complete status was written by the bench rather than by pods; taskgate caches neither pods nor Job pod templates. The manager ran with --kube-api-qps=500 while the cluster filled, then restarted with the chart's defaults."}
	begin := time.Now()
	if err := e.Cluster.StopComponent("tekton-controller"); err != nil {
		return nil, err
	}
	if err := e.RestartManager(ctx, "--kube-api-qps=500", "--kube-api-burst=1000"); err != nil {
		return nil, err
	}
	stopSampling := e.sampleQueues(ctx)
	defer stopSampling() // ends the sampler on an early return
	namespaces := make([]string, memoryNamespaces)
	for i := range namespaces {
		namespaces[i] = fmt.Sprintf("bench-memory-%d", i)
		if err := e.createNamespace(ctx, namespaces[i], map[string]string{bulkLabel: "true"}); err != nil {
			return nil, err
		}
		if err := e.Client.Create(ctx, benchApp(namespaces[i])); err != nil {
			return nil, fmt.Errorf("creating the App: %w", err)
		}
	}
	if err := e.fillTasks(ctx, namespaces, tasks); err != nil {
		return nil, err
	}
	e.Logf("memory: %d Tasks finished after %s", tasks, time.Since(begin).Round(time.Second))
	if err := e.fillJobs(ctx, namespaces, jobs); err != nil {
		return nil, err
	}
	res.Fill = time.Since(begin)
	res.PeakQueued = stopSampling()
	e.Logf("memory: %d Jobs finished and decided after %s", jobs, res.Fill.Round(time.Second))
	var err error
	if res.Loaded, err = e.settledMemory(ctx); err != nil {
		return res, err
	}
	if err := e.profileManager(ctx, 0, "manager-heap-loaded"); err != nil {
		return res, err
	}
	if res.LoadedIdle, err = e.idleMemory(ctx); err != nil {
		return res, err
	}
	if err := e.RestartManager(ctx); err != nil {
		return res, err
	}
	if res.Fresh, err = e.settledMemory(ctx); err != nil {
		return res, err
	}
	if err := e.profileManager(ctx, 0, "manager-heap-restarted"); err != nil {
		return res, err
	}
	return res, nil
}

func (e *Env) fillTasks(ctx context.Context, namespaces []string, n int) error {
	tasks, err := e.watchTasks(ctx, "")
	if err != nil {
		return err
	}
	defer tasks.stop()
	runs, err := e.watchPipelineRuns(ctx, "")
	if err != nil {
		return err
	}
	defer runs.stop()
	name := func(i int) (string, string) {
		ns := namespaces[i%len(namespaces)]
		return ns, fmt.Sprintf("%s-task-%05d", ns, i)
	}
	if err := createAll(ctx, n, func(i int) error {
		ns, name := name(i)
		return e.Client.Create(ctx, capTask(ns, name, ""))
	}); err != nil {
		return fmt.Errorf("creating Tasks: %w", err)
	}
	if err := runs.until(ctx, 30*time.Minute, fmt.Sprintf("%d PipelineRuns", n), func(seen map[string]*taskSeen, _ int) bool { return len(seen) >= n }); err != nil {
		return err
	}
	if err := createAll(ctx, n, func(i int) error {
		ns, name := name(i)
		return e.runLikeTekton(ctx, client.ObjectKey{Namespace: ns, Name: name})
	}); err != nil {
		return fmt.Errorf("completing PipelineRuns: %w", err)
	}
	return tasks.until(ctx, 30*time.Minute, fmt.Sprintf("%d Tasks to finish", n), finishedAtLeast(n))
}

// runLikeTekton does what Tekton's controller does for a PipelineRun whose
// one pod succeeded: a TaskRun owned by it, and both statuses Succeeded.
func (e *Env) runLikeTekton(ctx context.Context, key client.ObjectKey) error {
	var pr pipelinev1.PipelineRun
	if err := e.Client.Get(ctx, key, &pr); err != nil {
		return err
	}
	pt := pr.Spec.PipelineSpec.Tasks[0]
	labels := map[string]string{"tekton.dev/pipelineRun": pr.Name, "tekton.dev/pipelineTask": pt.Name, "tekton.dev/memberOf": "tasks"}
	for k, v := range pr.Labels {
		labels[k] = v
	}
	tr := &pipelinev1.TaskRun{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: pr.Namespace, Name: pr.Name + "-" + pt.Name, Labels: labels, Annotations: pr.Annotations,
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: pipelinev1.SchemeGroupVersion.String(), Kind: "PipelineRun", Name: pr.Name, UID: pr.UID,
				Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true),
			}},
		},
		Spec: pipelinev1.TaskRunSpec{
			TaskSpec:           &pt.TaskSpec.TaskSpec,
			ServiceAccountName: pr.Spec.TaskRunTemplate.ServiceAccountName,
			PodTemplate:        pr.Spec.TaskRunTemplate.PodTemplate,
		},
	}
	if err := e.Client.Create(ctx, tr); err != nil {
		return fmt.Errorf("creating TaskRun: %w", err)
	}
	start := metav1.Now()
	end := metav1.NewTime(start.Add(time.Second))
	tr.Status.SetCondition(&apis.Condition{Type: apis.ConditionSucceeded, Status: corev1.ConditionTrue, Reason: "Succeeded", Message: "All Steps have completed executing"})
	tr.Status.PodName = tr.Name + "-pod"
	tr.Status.StartTime, tr.Status.CompletionTime = &start, &end
	tr.Status.TaskSpec = tr.Spec.TaskSpec
	tr.Status.Steps = []pipelinev1.StepState{{
		Name: pt.TaskSpec.Steps[0].Name, Container: "step-" + pt.TaskSpec.Steps[0].Name,
		ContainerState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 0, Reason: "Completed", StartedAt: start, FinishedAt: end}},
	}}
	if err := e.Client.Status().Update(ctx, tr); err != nil {
		return fmt.Errorf("completing TaskRun: %w", err)
	}
	pr.Status.MarkSucceeded("Succeeded", "Tasks Completed: 1 (Failed: 0, Cancelled 0), Skipped: 0")
	pr.Status.StartTime, pr.Status.CompletionTime = &start, &end
	pr.Status.PipelineSpec = pr.Spec.PipelineSpec
	pr.Status.ChildReferences = []pipelinev1.ChildStatusReference{{
		TypeMeta: runtime.TypeMeta{APIVersion: pipelinev1.SchemeGroupVersion.String(), Kind: "TaskRun"}, Name: tr.Name, PipelineTaskName: pt.Name,
	}}
	if err := e.Client.Status().Update(ctx, &pr); err != nil {
		return fmt.Errorf("completing PipelineRun: %w", err)
	}
	return nil
}

func (e *Env) fillJobs(ctx context.Context, namespaces []string, n int) error {
	// Done means the manager has decided the Job's completion TTL (the
	// Succeeded rule's, which admission already set).
	jobs, err := e.watch(ctx, "", &batchv1.JobList{}, func(obj client.Object) bool {
		job, ok := obj.(*batchv1.Job)
		return ok && ptr.Deref(job.Spec.TTLSecondsAfterFinished, 0) == 3600 && job.Labels[taskgatev1alpha1.LabelCompletionDecided] == "true"
	})
	if err != nil {
		return err
	}
	defer jobs.stop()
	if err := createAll(ctx, n, func(i int) error {
		ns := namespaces[i%len(namespaces)]
		job := benchJob(ns, fmt.Sprintf("%s-job-%05d", ns, i))
		job.Spec.Suspend = nil
		job.Spec.ManagedBy = ptr.To(benchJobController)
		if i%5 != 0 {
			delete(job.Labels, taskgatev1alpha1.LabelApp) // most Jobs are not an App's
		}
		if err := e.Client.Create(ctx, job); err != nil {
			return err
		}
		start := metav1.Now()
		end := metav1.NewTime(start.Add(time.Second))
		job.Status = batchv1.JobStatus{
			StartTime: &start, CompletionTime: &end, Succeeded: 1, Ready: ptr.To[int32](0), Terminating: ptr.To[int32](0),
			Conditions: []batchv1.JobCondition{
				{Type: batchv1.JobSuccessCriteriaMet, Status: corev1.ConditionTrue, Reason: "CompletionsReached", LastTransitionTime: end, LastProbeTime: end},
				{Type: batchv1.JobComplete, Status: corev1.ConditionTrue, Reason: "CompletionsReached", LastTransitionTime: end, LastProbeTime: end},
			},
		}
		return e.Client.Status().Update(ctx, job)
	}); err != nil {
		return fmt.Errorf("creating finished Jobs: %w", err)
	}
	return jobs.until(ctx, 30*time.Minute, fmt.Sprintf("%d Jobs to be decided", n), finishedAtLeast(n))
}

// finishedAtLeast holds once n of the watched objects have finished.
func finishedAtLeast(n int) func(map[string]*taskSeen, int) bool {
	return func(seen map[string]*taskSeen, _ int) bool {
		done := 0
		for _, s := range seen {
			if !s.Finished.IsZero() {
				done++
			}
		}
		return done >= n
	}
}

// sampleQueues samples the depth of the manager's work queues every second
// until the returned func is called, which returns the deepest seen.
func (e *Env) sampleQueues(ctx context.Context) (stop func() int) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan int)
	go func() {
		peak := 0
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				done <- peak
				return
			case <-tick.C:
				if m, err := e.manager.Metrics(); err == nil {
					peak = max(peak, int(m["workqueue_depth"]))
				}
			}
		}
	}()
	var once sync.Once
	var peak int
	return func() int {
		once.Do(func() { cancel(); peak = <-done })
		return peak
	}
}

// settledMemory waits until the manager's work queues have stayed empty
// for 30 s, so the figure is its steady state, and samples it then.
func (e *Env) settledMemory(ctx context.Context) (MemorySample, error) {
	quiet := time.Time{}
	err := poll(ctx, 30*time.Minute, func() (bool, error) {
		m, err := e.manager.Metrics()
		if err != nil {
			return false, err
		}
		if m["workqueue_depth"] > 0 {
			quiet = time.Time{}
			return false, nil
		}
		if quiet.IsZero() {
			quiet = time.Now()
		}
		return time.Since(quiet) > 30*time.Second, nil
	})
	if err != nil {
		return MemorySample{}, fmt.Errorf("waiting for the manager to settle: %w", err)
	}
	return e.sampleMemory()
}

// idleMemory waits for the manager's next garbage collection, which an
// idle Go process runs at least every 2 minutes, and 30 s more for the
// runtime to return freed pages to the kernel, and samples it then: the
// memory it holds for the objects in the cluster, without the garbage its
// last burst of work left.
func (e *Env) idleMemory(ctx context.Context) (MemorySample, error) {
	lastGC := func() (float64, error) {
		m, err := e.manager.Metrics()
		if err != nil {
			return 0, err
		}
		t, ok := m["go_memstats_last_gc_time_seconds"]
		if !ok {
			return 0, fmt.Errorf("the manager exports no go_memstats_last_gc_time_seconds")
		}
		return t, nil
	}
	before, err := lastGC()
	if err != nil {
		return MemorySample{}, err
	}
	err = poll(ctx, 5*time.Minute, func() (bool, error) {
		t, err := lastGC()
		return t > before, err
	})
	if err != nil {
		return MemorySample{}, fmt.Errorf("waiting for the manager's next garbage collection: %w", err)
	}
	select {
	case <-ctx.Done():
		return MemorySample{}, ctx.Err()
	case <-time.After(30 * time.Second):
	}
	return e.sampleMemory()
}

func (e *Env) sampleMemory() (MemorySample, error) {
	mem, err := e.manager.Memory()
	if err != nil {
		return MemorySample{}, err
	}
	m, err := e.manager.Metrics()
	if err != nil {
		return MemorySample{}, err
	}
	return MemorySample{
		RSS: mem.RSS, PeakRSS: mem.Peak, Anon: mem.Anon, File: mem.File,
		HeapInuse: int64(m["go_memstats_heap_inuse_bytes"]),
		HeapKept:  int64(m["go_memstats_heap_idle_bytes"] - m["go_memstats_heap_released_bytes"]),
	}, nil
}
