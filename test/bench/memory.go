package bench

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// memoryNamespaces spreads the memory figure's objects, as teams would.
const memoryNamespaces = 10

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
