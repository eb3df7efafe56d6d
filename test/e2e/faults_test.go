package e2e

import (
	"context"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"gomodules.xyz/jsonpatch/v2"
	admissionregv1 "k8s.io/api/admissionregistration/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/taskgate/taskgate/api/v1alpha1"
	"github.com/taskgate/taskgate/test/localcluster"
)

// createTasks creates n Tasks of app from 20 clients at once, named
// <prefix>-0000 on, each running for runTime under kwok (when set).
func createTasks(t *testing.T, c client.Client, app *v1alpha1.App, prefix string, n int, runTime string) {
	t.Helper()
	var wg sync.WaitGroup
	sem := make(chan struct{}, 20)
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			task := &v1alpha1.Task{
				ObjectMeta: metav1.ObjectMeta{Namespace: app.Namespace, Name: fmt.Sprintf("%s-%04d", prefix, i)},
				Spec:       v1alpha1.TaskSpec{AppRef: v1alpha1.AppReference{Name: app.Name}, Command: "true"},
			}
			if runTime != "" {
				task.Annotations = map[string]string{localcluster.AnnotationRunTime: runTime}
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
}

// waitForRuns waits until at least n Tasks in ns have a PipelineRun.
func waitForRuns(t *testing.T, c client.Client, ns string, n int) {
	t.Helper()
	eventually(t, 5*time.Minute, fmt.Sprintf("%d Tasks to have a PipelineRun", n), func() (bool, error) {
		var tasks v1alpha1.TaskList
		if err := c.List(context.Background(), &tasks, client.InNamespace(ns)); err != nil {
			return false, err
		}
		started := 0
		for _, task := range tasks.Items {
			if task.Status.PipelineRunName != "" {
				started++
			}
		}
		return started >= n, fmt.Errorf("%d have one", started)
	})
}

// requireExactlyOnce checks that n Tasks in ns all succeeded, each once: IDs
// 1..n, one PipelineRun, one TaskRun and one pod each, and a whole status,
// the pod and the exit code included.
func requireExactlyOnce(t *testing.T, c client.Client, ns string, n int, timeout time.Duration) {
	t.Helper()
	tasks := waitAllSucceeded(t, c, ns, n, timeout)
	ids := map[int64]string{}
	for _, task := range tasks.Items {
		s := task.Status
		if prev, dup := ids[s.ID]; dup || s.ID < 1 || s.ID > int64(n) {
			t.Fatalf("Task %s has ID %d (also %q); want unique IDs 1..%d", task.Name, s.ID, prev, n)
		}
		ids[s.ID] = task.Name
		if s.PipelineRunName != task.Name || s.PodName == "" || s.ExitCode == nil || *s.ExitCode != 0 || s.StartTime == nil || s.CompletionTime == nil ||
			succeededCondition(t, &task).Status != metav1.ConditionTrue {
			t.Fatalf("Task %s lost part of its status: %+v", task.Name, s)
		}
	}
	lists := map[string]client.ObjectList{"PipelineRuns": &pipelinev1.PipelineRunList{}, "TaskRuns": &pipelinev1.TaskRunList{}, "pods": &corev1.PodList{}}
	for what, list := range lists {
		if err := c.List(context.Background(), list, client.InNamespace(ns)); err != nil {
			t.Fatalf("listing %s: %v", what, err)
		}
		if got := apimeta.LenList(list); got != n {
			t.Fatalf("%d %s for %d Tasks, want exactly one each", got, what, n)
		}
	}
}

// TestLeaderFailoverDuringBurst runs two replicas of the manager binary with
// leader election, kills the leader with SIGKILL while it works through 300
// Tasks, and requires the standby to take over within 30 s and every Task
// to run exactly once.
func TestLeaderFailoverDuringBurst(t *testing.T) {
	const n = 300
	ctx := context.Background()
	c := newClient(t)
	ns := newNamespace(t, c)
	app := newApp(t, c, ns, "burst")
	bin := managerBinaryInstead(ctx, t)
	// Only the leader reconciles.
	ports := webhookServiceOfTwo(t)
	replica := func(name string, webhookPort int) *localcluster.ManagerProcess {
		m, err := localcluster.StartManager(ctx, localcluster.ManagerOptions{
			Binary: bin, Kubeconfig: cluster.Kubeconfig, Namespace: managerNamespace, Webhooks: running.hooks,
			WebhookPort: webhookPort, Log: filepath.Join(cluster.Dir, "manager-"+name+".log"),
			Args: []string{"--leader-elect=true", "--leader-election-id=e2e-failover"},
		})
		if err != nil {
			t.Fatalf("starting replica %s: %v", name, err)
		}
		t.Cleanup(m.Stop)
		return m
	}
	leads := func(m *localcluster.ManagerProcess) bool {
		metrics, err := m.Metrics()
		return err == nil && metrics["leader_election_master_status"] == 1
	}
	leader := replica("a", ports[0])
	eventually(t, time.Minute, "replica a to lead", func() (bool, error) { return leads(leader), nil })
	standby := replica("b", ports[1])
	if leads(standby) {
		t.Fatal("both replicas lead")
	}

	createTasks(t, c, app, "burst", n, "2s")
	waitForRuns(t, c, ns, n/5)
	leader.Kill()
	killed := time.Now()
	eventually(t, time.Minute, "replica b to lead", func() (bool, error) { return leads(standby), nil })
	failover := time.Since(killed)
	t.Logf("replica b led %s after replica a was killed", failover.Round(100*time.Millisecond))
	if failover > 30*time.Second {
		t.Fatalf("failover took %s, want under 30 s", failover)
	}
	requireExactlyOnce(t, c, ns, n, 10*time.Minute)
}

// TestAPIServerRestartMidRun restarts kube-apiserver while Tasks run; the
// manager, Tekton and kwok reconnect and every Task runs exactly once.
func TestAPIServerRestartMidRun(t *testing.T) {
	const n = 60
	c := newClient(t)
	ns := newNamespace(t, c)
	app := newApp(t, c, ns, "restart")
	createTasks(t, c, app, "before", n/2, "3s")
	waitForRuns(t, c, ns, n/6)
	restarting := time.Now()
	if err := cluster.RestartAPIServer(context.Background(), 5*time.Second); err != nil {
		t.Fatal(err)
	}
	t.Logf("kube-apiserver stopped, down 5 s and started again in %s", time.Since(restarting).Round(100*time.Millisecond))
	// The webhooks admit again once the API server is back.
	eventually(t, 2*time.Minute, "the API server to serve again", func() (bool, error) {
		err := c.List(context.Background(), &v1alpha1.TaskList{}, client.InNamespace(ns))
		return err == nil, err
	})
	createTasks(t, c, app, "after", n/2, "3s")
	// Tasks that finish while the manager's cache catches up on their
	// TaskRuns keep their pod and exit code: the TaskRun is read live.
	requireExactlyOnce(t, c, ns, n, 5*time.Minute)
}

// withWebhooksUnreachable runs f with every taskgate webhook pointing at a
// closed port, as when the manager's pods are all down, while the manager
// itself keeps reconciling; then it points them back.
func withWebhooksUnreachable(t *testing.T, c client.Client, f func()) {
	t.Helper()
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	redirect := func(cc *admissionregv1.WebhookClientConfig, host string) {
		u, err := url.Parse(*cc.URL)
		if err != nil {
			t.Fatalf("parsing webhook URL: %v", err)
		}
		u.Host = host
		cc.URL = new(u.String())
	}
	live := fmt.Sprintf("%s:%d", running.hooks.LocalServingHost, running.hooks.LocalServingPort)
	point := func(host string) {
		mutating := &admissionregv1.MutatingWebhookConfiguration{}
		validating := &admissionregv1.ValidatingWebhookConfiguration{}
		for _, cfg := range []client.Object{mutating, validating} {
			if err := c.Get(context.Background(), client.ObjectKey{Name: "taskgate"}, cfg); err != nil {
				t.Fatalf("reading webhook configuration: %v", err)
			}
		}
		for i := range mutating.Webhooks {
			redirect(&mutating.Webhooks[i].ClientConfig, host)
		}
		for i := range validating.Webhooks {
			redirect(&validating.Webhooks[i].ClientConfig, host)
		}
		for _, cfg := range []client.Object{mutating, validating} {
			if err := c.Update(context.Background(), cfg); err != nil {
				t.Fatalf("pointing webhooks at %s: %v", host, err)
			}
		}
		time.Sleep(2 * time.Second) // the API server's view follows within moments
	}
	point(fmt.Sprintf("127.0.0.1:%d", port))
	defer point(live)
	f()
}

// TestWebhookUnreachable: with the webhooks down and the reconcilers up,
// Jobs are still created and get their TTL from the reconciler once they
// finish; Tasks are denied at once, saying why.
func TestWebhookUnreachable(t *testing.T) {
	c := newClient(t)
	ns := newNamespace(t, c)
	app := newApp(t, c, ns, "shop")
	applyTTLRules(t, c, fmt.Sprintf("{name: e2e-done, kinds: [Job], namespaces: [%s], when: Succeeded, ttlSecondsAfterFinished: 4321}", ns))
	time.Sleep(2 * time.Second) // the policy reloads within a second
	done := waitForState(t, c, newTask(t, c, app, "done", nil), v1alpha1.TaskStateSucceeded, time.Minute)

	withWebhooksUnreachable(t, c, func() {
		// Of a Task's updates, only a change of spec.desiredState or
		// spec.resolved reaches the webhook (its matchConditions): a label
		// goes on, a cancel request and a new image fail closed.
		patchJSON(t, c, done, []jsonpatch.JsonPatchOperation{jsonpatch.NewOperation("add", "/metadata/labels/team", "a")})
		for what, body := range map[string]string{
			"cancelling a Task":           `{"spec":{"desiredState":"Cancelled"}}`,
			"changing its resolved image": `{"spec":{"resolved":{"image":"evil:1"}}}`,
		} {
			err := c.Patch(context.Background(), done, client.RawPatch(types.MergePatchType, []byte(body)))
			if err == nil || !strings.Contains(err.Error(), `failed calling webhook "tasks.taskgate.dev"`) {
				t.Fatalf("%s with the webhook down: %v; want a denial naming the webhook", what, err)
			}
		}

		job := newJob(t, c, ns, "nightly", 0, nil)
		if job.Spec.TTLSecondsAfterFinished != nil {
			t.Fatalf("Job admitted with TTL %d while the webhook was down", *job.Spec.TTLSecondsAfterFinished)
		}
		finished := jobFinishedAt(t, c, job, batchv1.JobComplete)
		got := &batchv1.Job{}
		eventually(t, 30*time.Second, "the reconciler to give the Job its TTL", func() (bool, error) {
			if err := c.Get(context.Background(), client.ObjectKeyFromObject(job), got); err != nil {
				return false, err
			}
			return ttlOf(got) == "4321", fmt.Errorf("TTL %s", ttlOf(got))
		})
		t.Logf("TTL set %s after the Job finished", time.Since(finished).Round(100*time.Millisecond))

		task := &v1alpha1.Task{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "t"},
			Spec: v1alpha1.TaskSpec{AppRef: v1alpha1.AppReference{Name: app.Name}, Command: "true"}}
		start := time.Now()
		err := c.Create(context.Background(), task)
		took := time.Since(start)
		t.Logf("Task denied in %s: %v", took.Round(time.Millisecond), err)
		if err == nil || !strings.Contains(err.Error(), `failed calling webhook "tasks.taskgate.dev"`) || !strings.Contains(err.Error(), "connection refused") {
			t.Fatalf("creating a Task with the webhook down: %v; want a denial naming the webhook and the refused connection", err)
		}
	})
	var runs pipelinev1.PipelineRunList
	if err := c.List(context.Background(), &runs, client.InNamespace(ns)); err != nil || len(runs.Items) != 1 || runs.Items[0].Name != done.Name {
		t.Fatalf("%d PipelineRuns (%v) after every Task but %s was denied, want only its", len(runs.Items), err, done.Name)
	}
}
