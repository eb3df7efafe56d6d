package e2e

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"gomodules.xyz/jsonpatch/v2"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/taskgate/taskgate/api/v1alpha1"
	"github.com/taskgate/taskgate/test/localcluster"
)

// newApp creates an App whose tasks run under kwok, changed by mutate.
func newApp(t *testing.T, c client.Client, ns, name string, mutate ...func(*v1alpha1.App)) *v1alpha1.App {
	t.Helper()
	app := &v1alpha1.App{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: v1alpha1.AppSpec{
			Image:   "registry.example.com/shop/web:v1",
			Command: []string{"/cnb/lifecycle/launcher"},
			Args:    []string{"bundle", "exec", "rake", "jobs:work"},
			Env:     []corev1.EnvVar{{Name: "RAILS_ENV", Value: "production"}},
		},
	}
	for _, m := range mutate {
		m(app)
	}
	if err := c.Create(context.Background(), app); err != nil {
		t.Fatalf("creating App: %v", err)
	}
	return app
}

// newTask creates a Task of app; annotations script its kwok pod.
func newTask(t *testing.T, c client.Client, app *v1alpha1.App, name string, annotations map[string]string, mutate ...func(*v1alpha1.Task)) *v1alpha1.Task {
	t.Helper()
	task := &v1alpha1.Task{
		ObjectMeta: metav1.ObjectMeta{Namespace: app.Namespace, Name: name, Annotations: annotations},
		Spec:       v1alpha1.TaskSpec{AppRef: v1alpha1.AppReference{Name: app.Name}, Command: "bundle exec rake db:migrate"},
	}
	for _, m := range mutate {
		m(task)
	}
	if err := c.Create(context.Background(), task); err != nil {
		t.Fatalf("creating Task %s: %v", name, err)
	}
	return task
}

// waitForState waits until the Task reaches state and returns it.
func waitForState(t *testing.T, c client.Client, task *v1alpha1.Task, state v1alpha1.TaskState, timeout time.Duration) *v1alpha1.Task {
	t.Helper()
	got := &v1alpha1.Task{}
	eventually(t, timeout, fmt.Sprintf("Task %s to be %s", task.Name, state), func() (bool, error) {
		if err := c.Get(context.Background(), client.ObjectKeyFromObject(task), got); err != nil {
			return false, err
		}
		return got.Status.State == state, fmt.Errorf("state %q, failure %q", got.Status.State, got.Status.FailureReason)
	})
	return got
}

func succeededCondition(t *testing.T, task *v1alpha1.Task) metav1.Condition {
	t.Helper()
	c := meta.FindStatusCondition(task.Status.Conditions, v1alpha1.ConditionSucceeded)
	if c == nil {
		t.Fatalf("Task %s has no Succeeded condition: %+v", task.Name, task.Status)
	}
	return *c
}

// TestRecordedRunsLeaveTheWatch: once a Task's final status is written, its
// done PipelineRun and TaskRun are labelled recorded, which takes them out
// of the manager's watch, and the Task's status stands without them.
func TestRecordedRunsLeaveTheWatch(t *testing.T) {
	ctx := context.Background()
	c := newClient(t)
	ns := newNamespace(t, c)
	app := newApp(t, c, ns, "shop")
	task := waitForState(t, c, newTask(t, c, app, "report", nil), v1alpha1.TaskStateSucceeded, time.Minute)
	finished := time.Now()

	pr := &pipelinev1.PipelineRun{}
	prRecorded := func() (bool, error) {
		if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: task.Status.PipelineRunName}, pr); err != nil {
			return false, err
		}
		return pr.Labels[v1alpha1.LabelRunRecorded] == "true", fmt.Errorf("labels %v", pr.Labels)
	}
	eventually(t, 30*time.Second, "the PipelineRun to be recorded", prRecorded)
	eventually(t, 30*time.Second, "the TaskRun to be recorded", func() (bool, error) {
		trs := &pipelinev1.TaskRunList{}
		if err := c.List(ctx, trs, client.InNamespace(ns), client.MatchingLabels{v1alpha1.LabelTask: task.Name}); err != nil {
			return false, err
		}
		return len(trs.Items) == 1 && trs.Items[0].Labels[v1alpha1.LabelRunRecorded] == "true", fmt.Errorf("%d TaskRuns: %+v", len(trs.Items), trs.Items)
	})
	t.Logf("runs recorded within %s of the Task finishing", time.Since(finished).Round(10*time.Millisecond))

	// A reconcile of the Task, which changing its annotations causes,
	// finds no run in the cache and writes nothing: a finished Task's
	// status is final.
	patchJSON(t, c, task, []jsonpatch.JsonPatchOperation{jsonpatch.NewOperation("add", "/metadata/annotations", map[string]string{"team": "a"})})
	annotated := task.DeepCopy()
	time.Sleep(3 * time.Second)
	if err := c.Get(ctx, client.ObjectKeyFromObject(task), task); err != nil {
		t.Fatal(err)
	}
	if task.ResourceVersion != annotated.ResourceVersion {
		t.Fatalf("the finished Task was written after its runs were recorded:\n%s", cmp.Diff(annotated, task))
	}

	// Back in the watch without the label, and recorded again.
	patchJSON(t, c, pr, []jsonpatch.JsonPatchOperation{jsonpatch.NewOperation("remove", "/metadata/labels/taskgate.dev~1run-recorded", nil)})
	eventually(t, 30*time.Second, "the PipelineRun to be recorded again", prRecorded)
}

func TestTaskSucceeds(t *testing.T) {
	c := newClient(t)
	ns := newNamespace(t, c)
	app := newApp(t, c, ns, "shop")
	task := waitForState(t, c, newTask(t, c, app, "migrate", nil), v1alpha1.TaskStateSucceeded, time.Minute)

	if task.Status.ID != 1 {
		t.Fatalf("ID = %d, want 1", task.Status.ID)
	}
	// No ID label on the Task, which would be a write of its own: the
	// server selects status.id, as the plugin does to find Task 1 of shop
	// (docs/performance.md, run 23).
	if v, ok := task.Labels[v1alpha1.LabelTaskID]; ok {
		t.Errorf("the Task has label %s=%s; want none", v1alpha1.LabelTaskID, v)
	}
	for id, want := range map[string][]string{"1": {"migrate"}, "2": nil} {
		var selected v1alpha1.TaskList
		if err := c.List(context.Background(), &selected, client.InNamespace(ns),
			client.MatchingFields{v1alpha1.FieldTaskApp: "shop", v1alpha1.FieldTaskID: id}); err != nil {
			t.Fatalf("listing the Tasks with %s=shop,%s=%s: %v", v1alpha1.FieldTaskApp, v1alpha1.FieldTaskID, id, err)
		}
		var got []string
		for _, s := range selected.Items {
			got = append(got, s.Name)
		}
		if !slices.Equal(got, want) {
			t.Errorf("Tasks with %s=shop,%s=%s: %v, want %v", v1alpha1.FieldTaskApp, v1alpha1.FieldTaskID, id, got, want)
		}
	}
	cond := succeededCondition(t, task)
	if cond.Status != metav1.ConditionTrue || cond.Reason != "Succeeded" {
		t.Fatalf("Succeeded condition = %s/%s", cond.Status, cond.Reason)
	}
	if task.Status.ExitCode == nil || *task.Status.ExitCode != 0 || task.Status.FailureReason != "" {
		t.Fatalf("exit code %v, failure %q; want 0 and none", task.Status.ExitCode, task.Status.FailureReason)
	}
	if task.Status.StartTime == nil || task.Status.CompletionTime == nil || task.Status.Duration == nil {
		t.Fatalf("times not mirrored: %+v", task.Status)
	}
	if task.Status.PipelineRunName != "migrate" {
		t.Fatalf("pipelineRunName = %q, want migrate", task.Status.PipelineRunName)
	}
	// The PipelineRun is created with the pipeline label Tekton would add,
	// so Tekton never updates it: its only writers are taskgate (the
	// create and the recorded label) and Tekton's status writes.
	pr := &pipelinev1.PipelineRun{}
	if err := c.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "migrate"}, pr); err != nil {
		t.Fatal(err)
	}
	if pr.Labels["tekton.dev/pipeline"] != "migrate" {
		t.Errorf("PipelineRun label tekton.dev/pipeline = %q, want migrate", pr.Labels["tekton.dev/pipeline"])
	}
	var writers []string
	for _, m := range pr.ManagedFields {
		if m.Subresource == "" {
			writers = append(writers, m.Manager)
		}
	}
	if len(writers) != 1 {
		t.Errorf("the PipelineRun itself was written by %v; want only taskgate, its creator", writers)
	}
	// The pod of a finished task is kept, so its logs can be read.
	pod := &corev1.Pod{}
	if err := c.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: task.Status.PodName}, pod); err != nil {
		t.Fatalf("pod %q of the finished Task: %v", task.Status.PodName, err)
	}
	for k, v := range map[string]string{v1alpha1.LabelApp: "shop", v1alpha1.LabelTaskID: "1", v1alpha1.LabelTask: "migrate"} {
		if pod.Labels[k] != v {
			t.Fatalf("pod label %s = %q, want %q", k, pod.Labels[k], v)
		}
	}
	step := pod.Spec.Containers[len(pod.Spec.Containers)-1]
	if !slices.ContainsFunc(step.Env, func(e corev1.EnvVar) bool { return e.Name == "RAILS_ENV" && e.Value == "production" }) {
		t.Fatalf("the App's env did not reach the pod: %+v", step.Env)
	}

	// One Event for the run, at its end, naming the pod and the start;
	// none when it started (docs/performance.md, run 23).
	waitForEvent(t, c, ns, "migrate", "Succeeded", fmt.Sprintf("Task 1 of App shop succeeded (pod %s, started %s)",
		task.Status.PodName, task.Status.StartTime.UTC().Format(time.RFC3339)))
	var events eventsv1.EventList
	if err := c.List(context.Background(), &events, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	for _, e := range events.Items {
		if e.Regarding.Kind == "Task" && e.Reason != "Succeeded" {
			t.Errorf("Event %s %s on Task %s: %q; want only the one at the end", e.Type, e.Reason, e.Regarding.Name, e.Note)
		}
	}
}

// A PipelineRun the API server refuses (here a quota) leaves the Task
// Pending, saying why, with its ID; once the quota allows it, it runs.
func TestTaskWaitsForItsPipelineRunToBeAllowed(t *testing.T) {
	c := newClient(t)
	ns := newNamespace(t, c)
	app := newApp(t, c, ns, "shop")
	ctx := context.Background()
	quota := &corev1.ResourceQuota{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "no-runs"},
		Spec:       corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{"count/pipelineruns.tekton.dev": resource.MustParse("0")}},
	}
	if err := c.Create(ctx, quota); err != nil {
		t.Fatal(err)
	}
	task := newTask(t, c, app, "migrate", nil)
	const waiting = "Waiting for the PipelineRun to be created: "
	var cond metav1.Condition
	eventually(t, 30*time.Second, "the Task to say why its PipelineRun is not created", func() (bool, error) {
		task = getTask(t, c, ns, task.Name)
		if c := meta.FindStatusCondition(task.Status.Conditions, v1alpha1.ConditionSucceeded); c != nil {
			cond = *c
		}
		return strings.HasPrefix(cond.Message, waiting), nil
	})
	if task.Status.State != v1alpha1.TaskStatePending || task.Status.ID != 1 || cond.Reason != "Pending" ||
		!strings.Contains(cond.Message, `pipelineruns.tekton.dev "migrate" is forbidden`) || !strings.Contains(cond.Message, "no-runs") {
		t.Fatalf("state %s, ID %d, condition %s: %q; want Pending, ID 1 and the quota's refusal", task.Status.State, task.Status.ID, cond.Reason, cond.Message)
	}
	t.Logf("Task %s, ID %d: %s", task.Status.State, task.Status.ID, cond.Message)
	if err := c.Get(ctx, client.ObjectKeyFromObject(task), &pipelinev1.PipelineRun{}); !apierrors.IsNotFound(err) {
		t.Fatalf("PipelineRun of the refused Task: %v, want NotFound", err)
	}
	if err := c.Delete(ctx, quota); err != nil {
		t.Fatal(err)
	}
	task = waitForState(t, c, task, v1alpha1.TaskStateSucceeded, time.Minute)
	if task.Status.ID != 1 || task.Status.PipelineRunName != "migrate" || task.Status.PodName == "" {
		t.Fatalf("ID %d, PipelineRun %q, pod %q; want ID 1, PipelineRun migrate and a pod", task.Status.ID, task.Status.PipelineRunName, task.Status.PodName)
	}
}

func TestTaskFailsWithExitCode(t *testing.T) {
	c := newClient(t)
	ns := newNamespace(t, c)
	app := newApp(t, c, ns, "shop")
	task := waitForState(t, c, newTask(t, c, app, "broken", map[string]string{localcluster.AnnotationExitCode: "127"}),
		v1alpha1.TaskStateFailed, time.Minute)
	if task.Status.ExitCode == nil || *task.Status.ExitCode != 127 {
		t.Fatalf("exit code = %v, want 127", task.Status.ExitCode)
	}
	if task.Status.FailureReason != "Exited with status 127" {
		t.Fatalf("failure reason = %q", task.Status.FailureReason)
	}
	if cond := succeededCondition(t, task); cond.Status != metav1.ConditionFalse || cond.Reason != "Failed" {
		t.Fatalf("Succeeded condition = %s/%s, want False/Failed", cond.Status, cond.Reason)
	}
}

func TestTaskCancelWhileRunning(t *testing.T) {
	c := newClient(t)
	ns := newNamespace(t, c)
	app := newApp(t, c, ns, "shop")
	task := newTask(t, c, app, "long", map[string]string{localcluster.AnnotationRunTime: "5m"})
	running := waitForState(t, c, task, v1alpha1.TaskStateRunning, time.Minute)

	mustKubectl(t, "", "patch", "task", "long", "-n", ns, "--type=merge", "-p", `{"spec":{"desiredState":"Cancelled"}}`)
	done := waitForState(t, c, task, v1alpha1.TaskStateCancelled, time.Minute)
	if cond := succeededCondition(t, done); cond.Status != metav1.ConditionFalse || cond.Reason != "Cancelled" {
		t.Fatalf("Succeeded condition = %s/%s, want False/Cancelled", cond.Status, cond.Reason)
	}
	pr := &pipelinev1.PipelineRun{}
	if err := c.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "long"}, pr); err != nil {
		t.Fatalf("reading PipelineRun: %v", err)
	}
	if pr.Spec.Status != pipelinev1.PipelineRunSpecStatusCancelled {
		t.Fatalf("PipelineRun spec.status = %q, want Cancelled", pr.Spec.Status)
	}
	// With keep-pod-on-cancel, Tekton keeps the pod and has its entrypoint
	// stop the step, which kwok's taskgate-pod-cancel stage plays: exit 9.
	eventually(t, 30*time.Second, "the cancelled pod to stop", func() (bool, error) {
		pod := &corev1.Pod{}
		if err := c.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: running.Status.PodName}, pod); err != nil {
			return false, err
		}
		return pod.Status.Phase == corev1.PodFailed, nil
	})
	// A finished Task cannot be cancelled again: CF's words.
	ok := newTask(t, c, app, "quick", nil)
	waitForState(t, c, ok, v1alpha1.TaskStateSucceeded, time.Minute)
	out, err := kubectl(t, "", "patch", "task", "quick", "-n", ns, "--type=merge", "-p", `{"spec":{"desiredState":"Cancelled"}}`)
	want := `spec.desiredState: Forbidden: Task state is Succeeded and therefore cannot be cancelled`
	if err == nil || !contains(out, want) {
		t.Fatalf("cancelling a succeeded Task: err=%v\n%s\nwant %q", err, out, want)
	}
}

func TestTaskTimesOut(t *testing.T) {
	c := newClient(t)
	ns := newNamespace(t, c)
	app := newApp(t, c, ns, "shop")
	task := newTask(t, c, app, "slow", map[string]string{localcluster.AnnotationRunTime: "5m"}, func(task *v1alpha1.Task) {
		task.Spec.Timeout = &metav1.Duration{Duration: 2 * time.Second}
	})
	done := waitForState(t, c, task, v1alpha1.TaskStateFailed, time.Minute)
	if cond := succeededCondition(t, done); cond.Reason != "TimedOut" {
		t.Fatalf("Succeeded reason = %q, want TimedOut", cond.Reason)
	}
	if done.Status.FailureReason != "Task timed out after 2s" {
		t.Fatalf("failure reason = %q", done.Status.FailureReason)
	}
}

func TestTaskRetries(t *testing.T) {
	c := newClient(t)
	ns := newNamespace(t, c)
	app := newApp(t, c, ns, "shop")
	task := newTask(t, c, app, "flaky", map[string]string{localcluster.AnnotationExitCode: "3"}, func(task *v1alpha1.Task) {
		task.Spec.Retries = ptr.To[int32](2)
	})
	done := waitForState(t, c, task, v1alpha1.TaskStateFailed, 2*time.Minute)
	tr := &pipelinev1.TaskRun{}
	if err := c.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "flaky-run"}, tr); err != nil {
		t.Fatalf("reading TaskRun: %v", err)
	}
	if len(tr.Status.RetriesStatus) != 2 {
		t.Fatalf("TaskRun ran %d retries, want 2", len(tr.Status.RetriesStatus))
	}
	if done.Status.FailureReason != "Exited with status 3" {
		t.Fatalf("failure reason = %q", done.Status.FailureReason)
	}
}

func TestTaskTTLDeletesRunAndPod(t *testing.T) {
	c := newClient(t)
	ns := newNamespace(t, c)
	app := newApp(t, c, ns, "shop")
	task := newTask(t, c, app, "brief", nil, func(task *v1alpha1.Task) {
		task.Spec.TTLSecondsAfterFinished = ptr.To[int32](2)
	})
	done := waitForState(t, c, task, v1alpha1.TaskStateSucceeded, time.Minute)
	// The author's TTL is the one in force: no completion rule decided it.
	if !ptr.Equal(done.Status.TTLSecondsAfterFinished, ptr.To[int32](2)) || done.Status.TTLDecision != "" {
		t.Fatalf("finished Task's status: TTL %s, decision %q; want 2, none", ttlString(done.Status.TTLSecondsAfterFinished), done.Status.TTLDecision)
	}
	tr := done.Name + "-run"
	gone := func(obj client.Object, name string) func() (bool, error) {
		return func() (bool, error) {
			err := c.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, obj)
			return apierrors.IsNotFound(err), client.IgnoreNotFound(err)
		}
	}
	eventually(t, 30*time.Second, "the Task to be deleted", gone(&v1alpha1.Task{}, done.Name))
	eventually(t, 30*time.Second, "the PipelineRun to be collected", gone(&pipelinev1.PipelineRun{}, done.Name))
	eventually(t, 30*time.Second, "the TaskRun to be collected", gone(&pipelinev1.TaskRun{}, tr))
	eventually(t, 30*time.Second, "the pod to be collected", gone(&corev1.Pod{}, done.Status.PodName))
}

func TestTwoHundredTasksGetIDsOneToTwoHundred(t *testing.T) {
	c := newClient(t)
	ns := newNamespace(t, c)
	app := newApp(t, c, ns, "batch")
	const n = 200
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			task := &v1alpha1.Task{
				ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "t" + strconv.Itoa(i)},
				Spec:       v1alpha1.TaskSpec{AppRef: v1alpha1.AppReference{Name: app.Name}, Command: "true"},
			}
			errs <- c.Create(context.Background(), task)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("creating Task: %v", err)
		}
	}
	tasks := waitAllSucceeded(t, c, ns, n, 5*time.Minute)
	ids := make([]int, 0, n)
	for _, task := range tasks.Items {
		ids = append(ids, int(task.Status.ID))
	}
	slices.Sort(ids)
	for i, id := range ids {
		if id != i+1 {
			t.Fatalf("IDs are not exactly 1..%d: position %d holds %d (all: %v)", n, i, id, ids)
		}
	}
	var runs pipelinev1.PipelineRunList
	if err := c.List(context.Background(), &runs, client.InNamespace(ns)); err != nil {
		t.Fatalf("listing PipelineRuns: %v", err)
	}
	if len(runs.Items) != n {
		t.Fatalf("%d PipelineRuns, want one per Task: %d", len(runs.Items), n)
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

// TestManagerRestartMidRun stops the manager while Tasks are being created
// and run, then starts a new one: every Task completes exactly once, with
// one PipelineRun, a unique ID and its status.
func TestManagerRestartMidRun(t *testing.T) {
	c := newClient(t)
	ns := newNamespace(t, c)
	app := newApp(t, c, ns, "restart")
	const n = 60
	create := func(from, to int) {
		for i := from; i < to; i++ {
			newTask(t, c, app, fmt.Sprintf("r-%02d", i), map[string]string{localcluster.AnnotationRunTime: "2s"})
		}
	}
	create(0, n/2)
	time.Sleep(time.Second)
	if err := stopManager(); err != nil {
		t.Fatalf("stopping the manager: %v", err)
	}
	// Tasks created while the reconcilers are down, admitted by nobody:
	// restart first, as the webhook must admit them.
	if err := restartManager(); err != nil {
		t.Fatalf("restarting the manager: %v", err)
	}
	create(n/2, n)
	tasks := waitAllSucceeded(t, c, ns, n, 3*time.Minute)
	ids := map[int64]string{}
	for _, task := range tasks.Items {
		if prev, dup := ids[task.Status.ID]; dup || task.Status.ID < 1 || task.Status.ID > n {
			t.Fatalf("Task %s has ID %d (also %q); want unique IDs 1..%d", task.Name, task.Status.ID, prev, n)
		}
		ids[task.Status.ID] = task.Name
	}
	var runs pipelinev1.PipelineRunList
	if err := c.List(context.Background(), &runs, client.InNamespace(ns)); err != nil {
		t.Fatalf("listing PipelineRuns: %v", err)
	}
	if len(runs.Items) != n {
		t.Fatalf("%d PipelineRuns for %d Tasks, want exactly one each", len(runs.Items), n)
	}
}

// waitAllSucceeded waits until the namespace holds n Succeeded Tasks and
// returns them.
func waitAllSucceeded(t *testing.T, c client.Client, ns string, n int, timeout time.Duration) v1alpha1.TaskList {
	t.Helper()
	var tasks v1alpha1.TaskList
	eventually(t, timeout, fmt.Sprintf("%d Tasks to succeed", n), func() (bool, error) {
		if err := c.List(context.Background(), &tasks, client.InNamespace(ns)); err != nil {
			return false, err
		}
		done := 0
		for _, task := range tasks.Items {
			if task.Status.State == v1alpha1.TaskStateSucceeded {
				done++
			}
		}
		return done == n, fmt.Errorf("%d of %d succeeded", done, n)
	})
	return tasks
}
