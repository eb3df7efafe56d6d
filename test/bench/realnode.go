package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tektoncd/pipeline/pkg/apis/pipeline"
	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"github.com/tektoncd/pipeline/pkg/result"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	taskgatev1alpha1 "github.com/taskgate/taskgate/api/v1alpha1"
	"github.com/taskgate/taskgate/reconciler"
	"github.com/taskgate/taskgate/test/localcluster"
)

// RealNodeRun is one Task or bare PipelineRun on the real node, timed from
// just before the client created it.
type RealNodeRun struct {
	// Running: the step's process started.
	Running time.Duration
	// Done: the watch saw the Task Succeeded, or the PipelineRun's
	// Succeeded condition True.
	Done time.Duration
}

// RealNodeResult is the realnode figure: one real node, Tasks and bare
// PipelineRuns of the same step on it.
type RealNodeResult struct {
	// Start is how long the cluster took to start the real node.
	Start               time.Duration
	Tasks, PipelineRuns []RealNodeRun
}

const (
	realNodeTasks = "bench-realnode-tasks"
	realNodeRuns  = "bench-realnode-runs"
	// realNodeCommand prints, then lives a second, as a short job would.
	realNodeCommand = "echo started; sleep 1"
	// realNodeTimeout bounds each run from create to done.
	realNodeTimeout = 3 * time.Minute
	// realNodeStartLine is how localcluster logs the real node's start.
	realNodeStartLine = "the real node ready in "
)

// realNodeStartup reads the real node's start time from one line of the
// cluster's log: localcluster times each step and logs it, so the bench
// needs no hook into it.
func realNodeStartup(line string) (time.Duration, bool) {
	rest, ok := strings.CutPrefix(line, realNodeStartLine)
	if !ok {
		return 0, false
	}
	d, err := time.ParseDuration(rest)
	return d, err == nil
}

// RealNode runs rounds Tasks and as many bare PipelineRuns of the same
// step on the real node, one at a time so they never share it, alternating
// request by request which goes first in each round. One of each runs
// first unmeasured: the first pods on the node unpack the images.
func (e *Env) RealNode(ctx context.Context, rounds int) (*RealNodeResult, error) {
	if e.RealNodeStart == 0 {
		return nil, errors.New("the cluster has no real node; Setup starts one only when the realnode figure is asked for")
	}
	for _, ns := range []string{realNodeTasks, realNodeRuns} {
		if err := e.createRealNodeNamespace(ctx, ns); err != nil {
			return nil, err
		}
	}
	app := &taskgatev1alpha1.App{
		ObjectMeta: metav1.ObjectMeta{Namespace: realNodeTasks, Name: "web"},
		Spec:       taskgatev1alpha1.AppSpec{Image: localcluster.ImageShellUID},
	}
	if err := e.Client.Create(ctx, app); err != nil {
		return nil, fmt.Errorf("creating the App: %w", err)
	}
	tasks, err := e.watchTasks(ctx, realNodeTasks)
	if err != nil {
		return nil, err
	}
	defer tasks.stop()
	runs, err := e.watchPipelineRuns(ctx, realNodeRuns)
	if err != nil {
		return nil, err
	}
	defer runs.stop()

	if _, err := e.realNodeTask(ctx, tasks, "warmup"); err != nil {
		return nil, fmt.Errorf("warming up: %w", err)
	}
	template, err := e.realNodeTemplate(ctx, "warmup")
	if err != nil {
		return nil, err
	}
	if _, err := e.realNodePipelineRun(ctx, runs, template, "warmup"); err != nil {
		return nil, fmt.Errorf("warming up: %w", err)
	}
	res := &RealNodeResult{Start: e.RealNodeStart}
	for round := 1; round <= rounds; round++ {
		name := fmt.Sprintf("run-%03d", round)
		kinds := []func() error{
			func() error {
				run, err := e.realNodeTask(ctx, tasks, name)
				res.Tasks = append(res.Tasks, run)
				return err
			},
			func() error {
				run, err := e.realNodePipelineRun(ctx, runs, template, name)
				res.PipelineRuns = append(res.PipelineRuns, run)
				return err
			},
		}
		if round%2 == 0 {
			kinds[0], kinds[1] = kinds[1], kinds[0]
		}
		for _, run := range kinds {
			if err := run(); err != nil {
				return nil, err
			}
		}
		e.Logf("realnode, round %d: Task %+v, PipelineRun %+v", round, res.Tasks[len(res.Tasks)-1], res.PipelineRuns[len(res.PipelineRuns)-1])
	}
	for _, ns := range []string{realNodeTasks, realNodeRuns} {
		if err := e.deleteNamespace(ctx, ns); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// createRealNodeNamespace creates a namespace whose pods the apiserver
// puts on the real node, and waits for its default ServiceAccount, which
// Tekton needs before it makes a pod.
func (e *Env) createRealNodeNamespace(ctx context.Context, name string) error {
	if err := e.createNamespace(ctx, name, nil); err != nil {
		return err
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	patch := client.MergeFrom(ns.DeepCopy())
	ns.Annotations = localcluster.RealNodeAnnotations()
	if err := e.Client.Patch(ctx, ns, patch); err != nil {
		return fmt.Errorf("putting namespace %s on the real node: %w", name, err)
	}
	err := poll(ctx, 30*time.Second, func() (bool, error) {
		err := e.Client.Get(ctx, client.ObjectKey{Namespace: name, Name: "default"}, &corev1.ServiceAccount{})
		return err == nil, client.IgnoreNotFound(err)
	})
	if err != nil {
		return fmt.Errorf("waiting for the default ServiceAccount of %s: %w", name, err)
	}
	return nil
}

// realNodeTemplate is the PipelineRun taskgate built for the named Task,
// without its ties to the Task, checked to run the Task's step.
func (e *Env) realNodeTemplate(ctx context.Context, task string) (*pipelinev1.PipelineRun, error) {
	var pr pipelinev1.PipelineRun
	if err := e.Client.Get(ctx, client.ObjectKey{Namespace: realNodeTasks, Name: task}, &pr); err != nil {
		return nil, fmt.Errorf("reading the PipelineRun of Task %s: %w", task, err)
	}
	template := withoutTask(&pr)
	want := []string{"/bin/sh", "-c", realNodeCommand}
	if spec := template.Spec.PipelineSpec; spec == nil || len(spec.Tasks) != 1 || spec.Tasks[0].TaskSpec == nil || len(spec.Tasks[0].TaskSpec.Steps) != 1 {
		return nil, fmt.Errorf("the PipelineRun of Task %s is not one task of one step", task)
	} else if step := spec.Tasks[0].TaskSpec.Steps[0]; step.Image != localcluster.ImageShellUID || !slices.Equal(step.Command, want) {
		return nil, fmt.Errorf("the PipelineRun of Task %s runs %s %q, want %s %q", task, step.Image, step.Command, localcluster.ImageShellUID, want)
	}
	return template, nil
}

// realNodeTask times one Task of the App "web" running realNodeCommand.
func (e *Env) realNodeTask(ctx context.Context, w *taskWatch, name string) (RealNodeRun, error) {
	task := &taskgatev1alpha1.Task{
		ObjectMeta: metav1.ObjectMeta{Namespace: realNodeTasks, Name: name},
		Spec:       taskgatev1alpha1.TaskSpec{AppRef: taskgatev1alpha1.AppReference{Name: "web"}, Command: realNodeCommand},
	}
	start := time.Now()
	if err := e.Client.Create(ctx, task); err != nil {
		return RealNodeRun{}, fmt.Errorf("creating Task %s: %w", name, err)
	}
	done, err := finishedAt(ctx, w, "Task", name)
	if err != nil {
		return RealNodeRun{}, err
	}
	if err := e.Client.Get(ctx, client.ObjectKeyFromObject(task), task); err != nil {
		return RealNodeRun{}, fmt.Errorf("reading Task %s: %w", name, err)
	}
	if task.Status.State != taskgatev1alpha1.TaskStateSucceeded {
		return RealNodeRun{}, fmt.Errorf("task %s ended %s: %s", name, task.Status.State, task.Status.FailureReason)
	}
	return e.realNodeRun(ctx, realNodeTasks, task.Status.PipelineRunName, start, done)
}

// realNodePipelineRun times one copy of template, created directly.
func (e *Env) realNodePipelineRun(ctx context.Context, w *taskWatch, template *pipelinev1.PipelineRun, name string) (RealNodeRun, error) {
	pr := template.DeepCopy()
	pr.Namespace, pr.Name = realNodeRuns, name
	start := time.Now()
	if err := e.Client.Create(ctx, pr); err != nil {
		return RealNodeRun{}, fmt.Errorf("creating PipelineRun %s: %w", name, err)
	}
	done, err := finishedAt(ctx, w, "PipelineRun", name)
	if err != nil {
		return RealNodeRun{}, err
	}
	if err := e.Client.Get(ctx, client.ObjectKeyFromObject(pr), pr); err != nil {
		return RealNodeRun{}, fmt.Errorf("reading PipelineRun %s: %w", name, err)
	}
	if !pr.IsSuccessful() {
		return RealNodeRun{}, fmt.Errorf("the PipelineRun %s did not succeed: %+v", name, pr.Status.Conditions)
	}
	return e.realNodeRun(ctx, realNodeRuns, name, start, done)
}

// finishedAt waits until the watch sees the named object of kind finish
// and returns when it did.
func finishedAt(ctx context.Context, w *taskWatch, kind, name string) (time.Time, error) {
	err := w.until(ctx, realNodeTimeout, kind+" "+name+" to finish", func(seen map[string]*taskSeen, _ int) bool {
		return seen[name] != nil && !seen[name].Finished.IsZero()
	})
	return w.seen(name).Finished, err
}

// realNodeRun reads the pod of a finished PipelineRun, fails unless it ran
// on the real node, and times its process from start.
func (e *Env) realNodeRun(ctx context.Context, ns, pipelineRun string, start, done time.Time) (RealNodeRun, error) {
	var pods corev1.PodList
	if err := e.Client.List(ctx, &pods, client.InNamespace(ns), client.MatchingLabels{pipeline.PipelineRunLabelKey: pipelineRun}); err != nil {
		return RealNodeRun{}, fmt.Errorf("listing the pods of PipelineRun %s: %w", pipelineRun, err)
	}
	if len(pods.Items) != 1 {
		return RealNodeRun{}, fmt.Errorf("the PipelineRun %s/%s has %d pods, want 1", ns, pipelineRun, len(pods.Items))
	}
	pod := &pods.Items[0]
	if err := localcluster.CheckRealPod(pod); err != nil {
		return RealNodeRun{}, err
	}
	running, err := processStart(pod)
	if err != nil {
		return RealNodeRun{}, err
	}
	return RealNodeRun{Running: running.Sub(start), Done: done.Sub(start)}, nil
}

// processStart is when the step's command started: the StartedAt that
// Tekton's entrypoint writes to the step's termination message right
// before it runs the command, in milliseconds. The container's own
// startedAt is no use here: the API keeps whole seconds, as wide as half
// the figure, and it is taken before the entrypoint runs the command.
func processStart(pod *corev1.Pod) (time.Time, error) {
	step := "step-" + reconciler.StepName
	i := slices.IndexFunc(pod.Status.ContainerStatuses, func(s corev1.ContainerStatus) bool { return s.Name == step })
	if i < 0 {
		return time.Time{}, fmt.Errorf("pod %s/%s has no status of container %s", pod.Namespace, pod.Name, step)
	}
	term := pod.Status.ContainerStatuses[i].State.Terminated
	if term == nil {
		return time.Time{}, fmt.Errorf("container %s of pod %s/%s has not terminated", step, pod.Namespace, pod.Name)
	}
	var results []result.RunResult
	if err := json.Unmarshal([]byte(term.Message), &results); err != nil {
		return time.Time{}, fmt.Errorf("reading the termination message of container %s of pod %s/%s: %w", step, pod.Namespace, pod.Name, err)
	}
	for _, r := range results {
		if r.Key == "StartedAt" && r.ResultType == result.InternalTektonResultType {
			t, err := time.Parse(time.RFC3339Nano, r.Value)
			if err != nil {
				return time.Time{}, fmt.Errorf("reading StartedAt of container %s of pod %s/%s: %w", step, pod.Namespace, pod.Name, err)
			}
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("the termination message of container %s of pod %s/%s has no StartedAt: %q", step, pod.Namespace, pod.Name, term.Message)
}
