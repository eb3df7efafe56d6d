package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"gomodules.xyz/jsonpatch/v2"
	admissionregv1 "k8s.io/api/admissionregistration/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	crwebhook "sigs.k8s.io/controller-runtime/pkg/webhook"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/taskgate/taskgate/api/v1alpha1"
	"github.com/taskgate/taskgate/test/localcluster"
)

// newJob creates a Job whose one pod exits with exitCode under kwok.
func newJob(t *testing.T, c client.Client, ns, name string, exitCode int, labels map[string]string) *batchv1.Job {
	t.Helper()
	job := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels},
		Spec: batchv1.JobSpec{
			BackoffLimit: ptr.To[int32](0),
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{localcluster.AnnotationExitCode: strconv.Itoa(exitCode)}},
				Spec: corev1.PodSpec{
					RestartPolicy: corev1.RestartPolicyNever,
					Containers:    []corev1.Container{{Name: "main", Image: "registry.example.com/app:v1"}},
				},
			},
		},
	}
	if err := c.Create(context.Background(), job); err != nil {
		t.Fatalf("creating Job %s: %v", name, err)
	}
	return job
}

// jobFinishedAt waits until the Job is Complete or Failed and returns when.
func jobFinishedAt(t *testing.T, c client.Client, job *batchv1.Job, want batchv1.JobConditionType) time.Time {
	t.Helper()
	var at time.Time
	eventually(t, time.Minute, "Job "+job.Name+" to be "+string(want), func() (bool, error) {
		if err := c.Get(context.Background(), client.ObjectKeyFromObject(job), job); err != nil {
			return false, err
		}
		for _, cond := range job.Status.Conditions {
			if cond.Type == want && cond.Status == corev1.ConditionTrue {
				at = cond.LastTransitionTime.Time
				return true, nil
			}
		}
		return false, nil
	})
	return at
}

func TestJobCompletionTTLByOutcomeAndLabels(t *testing.T) {
	c := newClient(t)
	ns := newNamespace(t, c)
	applyTTLRules(t, c,
		fmt.Sprintf("{name: team-b-quick, kinds: [Job], namespaces: [%s], selector: {matchLabels: {team: b}}, when: Finished, ttlSecondsAfterFinished: 2}", ns),
		fmt.Sprintf("{name: failed-minute, kinds: [Job], namespaces: [%s], when: Failed, ttlSecondsAfterFinished: 60}", ns),
		fmt.Sprintf("{name: succeeded-quick, kinds: [Job], namespaces: [%s], when: Succeeded, ttlSecondsAfterFinished: 5}", ns))
	// At creation every Job gets the longest TTL it could end with.
	waitForJobTTL(t, c, ns, "60")

	ok := newJob(t, c, ns, "ok", 0, nil)
	failed := newJob(t, c, ns, "failed", 1, nil)
	teamB := newJob(t, c, ns, "team-b", 1, map[string]string{"team": "b"})
	optedOut := newJob(t, c, ns, "opted-out", 0, map[string]string{"taskgate.dev/policy": "disabled"})
	for _, j := range []*batchv1.Job{ok, failed, teamB} {
		if ttlOf(j) != "60" && j != teamB {
			t.Fatalf("Job %s created with TTL %s, want 60", j.Name, ttlOf(j))
		}
	}
	if ttlOf(optedOut) != "none" {
		t.Fatalf("opted-out Job got TTL %s", ttlOf(optedOut))
	}

	okDone := jobFinishedAt(t, c, ok, batchv1.JobComplete)
	eventually(t, 30*time.Second, "the succeeded Job to be deleted by the TTL controller", func() (bool, error) {
		err := c.Get(context.Background(), client.ObjectKeyFromObject(ok), &batchv1.Job{})
		return apierrors.IsNotFound(err), client.IgnoreNotFound(err)
	})
	lived := time.Since(okDone)
	t.Logf("succeeded Job deleted %s after completing (rule: 5s)", lived.Round(100*time.Millisecond))
	if lived < 4*time.Second {
		t.Fatalf("succeeded Job deleted %s after completing, before its 5s TTL", lived)
	}

	eventually(t, 30*time.Second, "the team-b Job to be deleted (label rule, 2s)", func() (bool, error) {
		err := c.Get(context.Background(), client.ObjectKeyFromObject(teamB), &batchv1.Job{})
		return apierrors.IsNotFound(err), client.IgnoreNotFound(err)
	})

	jobFinishedAt(t, c, failed, batchv1.JobFailed)
	jobFinishedAt(t, c, optedOut, batchv1.JobComplete)
	time.Sleep(3 * time.Second) // longer than any short rule
	for _, j := range []*batchv1.Job{failed, optedOut} {
		if err := c.Get(context.Background(), client.ObjectKeyFromObject(j), j); err != nil {
			t.Fatalf("Job %s: %v; want it kept", j.Name, err)
		}
	}
	if ttlOf(failed) != "60" {
		t.Fatalf("failed Job TTL = %s, want 60", ttlOf(failed))
	}
	if ttlOf(optedOut) != "none" {
		t.Fatalf("opted-out Job TTL = %s, want none (exempt)", ttlOf(optedOut))
	}
}

// TestDecidedJobsLeaveTheWatch proves that a Job whose completion TTL is
// decided leaves the manager's watch, and so its memory: the manager no
// longer sees changes to it until the label that took it out is removed.
func TestDecidedJobsLeaveTheWatch(t *testing.T) {
	ctx := context.Background()
	c := newClient(t)
	ns := newNamespace(t, c)
	applyTTLRules(t, c, fmt.Sprintf("{name: succeeded-hour, kinds: [Job], namespaces: [%s], when: Succeeded, ttlSecondsAfterFinished: 3600}", ns))
	waitForJobTTL(t, c, ns, "3600")

	// Copied from a decided Job's manifest: its own completion is still to
	// be decided, so admission removes the label.
	job := newJob(t, c, ns, "copied", 0, map[string]string{v1alpha1.LabelCompletionDecided: "true", "team": "a"})
	if _, ok := job.Labels[v1alpha1.LabelCompletionDecided]; ok || job.Labels["team"] != "a" {
		t.Fatalf("admitted Job labels = %v, want team=a only", job.Labels)
	}
	const decision = "set ttlSecondsAfterFinished=3600 (rule succeeded-hour)"
	decided := func() (bool, error) {
		if err := c.Get(ctx, client.ObjectKeyFromObject(job), job); err != nil {
			return false, err
		}
		return job.Labels[v1alpha1.LabelCompletionDecided] == "true", fmt.Errorf("labels %v", job.Labels)
	}
	finished := jobFinishedAt(t, c, job, batchv1.JobComplete)
	eventually(t, 30*time.Second, "the finished Job to be decided", decided)
	t.Logf("decided %s after the Job finished", time.Since(finished).Round(10*time.Millisecond))
	if ttlOf(job) != "3600" || job.Annotations["taskgate.dev/policy-decision"] != decision {
		t.Fatalf("decided Job: TTL %s, decision %q; want 3600, %q", ttlOf(job), job.Annotations["taskgate.dev/policy-decision"], decision)
	}

	// Out of the watch: the manager would restore a TTL and a decision
	// taken away from a Job it still watched.
	undo := []jsonpatch.JsonPatchOperation{
		jsonpatch.NewOperation("remove", "/spec/ttlSecondsAfterFinished", nil),
		jsonpatch.NewOperation("remove", "/metadata/annotations/taskgate.dev~1policy-decision", nil),
	}
	patchJSON(t, c, job, undo)
	time.Sleep(3 * time.Second)
	if err := c.Get(ctx, client.ObjectKeyFromObject(job), job); err != nil {
		t.Fatal(err)
	}
	if ttlOf(job) != "none" || job.Annotations["taskgate.dev/policy-decision"] != "" {
		t.Fatalf("a decided Job was decided again: TTL %s, decision %q", ttlOf(job), job.Annotations["taskgate.dev/policy-decision"])
	}

	// Back in the watch without the label, and decided again.
	patchJSON(t, c, job, []jsonpatch.JsonPatchOperation{jsonpatch.NewOperation("remove", "/metadata/labels/taskgate.dev~1completion-decided", nil)})
	eventually(t, 30*time.Second, "the Job to be decided again", decided)
	if ttlOf(job) != "3600" || job.Annotations["taskgate.dev/policy-decision"] != decision {
		t.Fatalf("decided again: TTL %s, decision %q; want 3600, %q", ttlOf(job), job.Annotations["taskgate.dev/policy-decision"], decision)
	}
}

// patchJSON applies a JSON patch to obj.
func patchJSON(t *testing.T, c client.Client, obj client.Object, ops []jsonpatch.JsonPatchOperation) {
	t.Helper()
	body, err := json.Marshal(ops)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Patch(context.Background(), obj, client.RawPatch(types.JSONPatchType, body)); err != nil {
		t.Fatalf("patching %s: %v", obj.GetName(), err)
	}
}

// TestWebhookCannotChangeJobSpecOnStatusUpdate proves why completion TTLs
// need a controller: a mutating webhook on jobs/status that patches
// spec.ttlSecondsAfterFinished is called, reports success, and the API
// server silently keeps the old spec.
func TestWebhookCannotChangeJobSpecOnStatusUpdate(t *testing.T) {
	c := newClient(t)
	ns := newNamespace(t, c)
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	var calls atomic.Int32
	server := crwebhook.NewServer(crwebhook.Options{Host: "127.0.0.1", Port: port})
	server.Register("/status", &crwebhook.Admission{Handler: admission.HandlerFunc(func(_ context.Context, req admission.Request) admission.Response {
		if req.Namespace != ns {
			return admission.Allowed("")
		}
		calls.Add(1)
		return admission.Patched("", jsonpatch.NewOperation("add", "/spec/ttlSecondsAfterFinished", 7))
	})})
	sideEffects := admissionregv1.SideEffectClassNone
	hooks := &envtest.WebhookInstallOptions{
		LocalServingHost: "127.0.0.1", LocalServingPort: port,
		MutatingWebhooks: []*admissionregv1.MutatingWebhookConfiguration{{
			ObjectMeta: metav1.ObjectMeta{Name: "e2e-job-status"},
			Webhooks: []admissionregv1.MutatingWebhook{{
				Name:                    "status.e2e.taskgate.dev",
				AdmissionReviewVersions: []string{"v1"},
				SideEffects:             &sideEffects,
				ClientConfig:            admissionregv1.WebhookClientConfig{Service: &admissionregv1.ServiceReference{Name: "x", Namespace: "x", Path: ptr.To("/status")}},
				Rules: []admissionregv1.RuleWithOperations{{
					Operations: []admissionregv1.OperationType{admissionregv1.Update},
					Rule:       admissionregv1.Rule{APIGroups: []string{"batch"}, APIVersions: []string{"v1"}, Resources: []string{"jobs/status"}},
				}},
				NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/metadata.name": ns}},
			}},
		}},
	}
	if err := hooks.Install(cluster.Config); err != nil {
		t.Fatalf("installing the status webhook: %v", err)
	}
	// The apiserver calls 127.0.0.1 in the cluster's namespace.
	forward, err := cluster.ForwardIn(port)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = forward.Close() })
	t.Cleanup(func() {
		_ = c.Delete(context.Background(), &admissionregv1.MutatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: "e2e-job-status"}})
	})
	server.(*crwebhook.DefaultServer).Options.CertDir = hooks.LocalServingCertDir
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = server.Start(ctx) }()
	eventually(t, 10*time.Second, "the status webhook to serve", func() (bool, error) {
		return server.StartedChecker()(&http.Request{}) == nil, nil
	})

	job := newJob(t, c, ns, "watched", 0, nil)
	jobFinishedAt(t, c, job, batchv1.JobComplete)
	if calls.Load() == 0 {
		t.Fatalf("the jobs/status webhook was never called")
	}
	if job.Spec.TTLSecondsAfterFinished != nil {
		t.Fatalf("spec.ttlSecondsAfterFinished = %d after %d status updates patched it; want it dropped", *job.Spec.TTLSecondsAfterFinished, calls.Load())
	}
	t.Logf("the webhook patched spec on %d jobs/status updates; the stored spec kept no TTL", calls.Load())
}

func TestCapKeepsNewestFinishedTasks(t *testing.T) {
	c := newClient(t)
	ns := newNamespace(t, c)
	t.Cleanup(func() { resetPolicy(t, c) })
	const total, keep, running = 1000, 50, 10
	mustKubectl(t, policyConfigMap(fmt.Sprintf("apiVersion: taskgate.dev/v1alpha1\nkind: Policy\ntasks:\n  cap:\n    overrides: [{name: e2e-cap, namespaces: [%s], maxTasks: %d}]", ns, keep)), "apply", "-f", "-")
	time.Sleep(2 * time.Second) // the policy reloads within a second
	app := newApp(t, c, ns, "busy")

	// The first Tasks keep running: they are the oldest, but never deleted.
	for i := range running {
		task := newTask(t, c, app, fmt.Sprintf("long-%02d", i), map[string]string{localcluster.AnnotationRunTime: "10m"})
		waitForState(t, c, task, v1alpha1.TaskStateRunning, time.Minute)
	}
	createTasks(t, c, app, "t", total-running, "")
	var tasks v1alpha1.TaskList
	start, lastLog := time.Now(), time.Now()
	eventually(t, 10*time.Minute, "the App to converge to its cap", func() (bool, error) {
		if err := c.List(context.Background(), &tasks, client.InNamespace(ns)); err != nil {
			return false, err
		}
		finished := 0
		for _, task := range tasks.Items {
			if task.Status.State.IsFinished() {
				finished++
			}
		}
		if time.Since(lastLog) > 15*time.Second {
			lastLog = time.Now()
			t.Logf("%s: %d Tasks, %d finished", time.Since(start).Round(time.Second), len(tasks.Items), finished)
		}
		return len(tasks.Items) == keep+running && finished == keep, fmt.Errorf("%d Tasks, %d finished", len(tasks.Items), finished)
	})
	var ids []int64
	for _, task := range tasks.Items {
		if task.Status.State.IsFinished() {
			ids = append(ids, task.Status.ID)
			continue
		}
		if task.Status.State != v1alpha1.TaskStateRunning || task.Status.ID > running {
			t.Fatalf("unexpected unfinished Task %s: %s, ID %d", task.Name, task.Status.State, task.Status.ID)
		}
	}
	slices.Sort(ids)
	if ids[0] != total-keep+1 || ids[len(ids)-1] != total {
		t.Fatalf("kept finished IDs %d..%d, want the newest %d..%d", ids[0], ids[len(ids)-1], total-keep+1, total)
	}
	if got := metricValue(t, `taskgate_tasks_deleted_total{reason="cap"}`); got < total-keep-running {
		t.Fatalf("taskgate_tasks_deleted_total{reason=cap} = %v, want at least %d", got, total-keep-running)
	}
}
