package e2e

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/taskgate/taskgate/api/v1alpha1"
	"github.com/taskgate/taskgate/test/localcluster"
)

// The API's bounds, as the CRD markers in api/v1alpha1 set them.
const (
	maxEnvValue   = 32768
	maxSpecChars  = 65536
	maxNameLength = 63
)

// Denials of the bounds, as the apiserver words them.
const (
	msgEnvValue  = "each env value must have at most 32768 characters; put larger data in a ConfigMap or Secret and mount it as a file"
	msgAppTotal  = "env names and values, command and args must total at most 65536 characters; put larger configuration in a ConfigMap or Secret and use envFrom or a service binding"
	msgTaskTotal = "env names and values and command must total at most 65536 characters; put larger configuration in a ConfigMap or Secret and use the App's envFrom or a service binding"
	msgTaskName  = "a Task's name must have at most 63 characters: its PipelineRun and pod carry it in the label taskgate.dev/task, and a label value has at most 63"
	msgAppName   = "an App's name must have at most 63 characters: its Tasks' pods carry it in the label taskgate.dev/app, and a label value has at most 63"
)

// wide is a character of 4 bytes in UTF-8: values of it are the most bytes
// the bounds, which count characters, admit.
const wide = "𝄞"

// largestEnv returns env entries named prefix and a number whose names and
// values total exactly chars characters, each value of at most maxEnvValue,
// made of unit.
func largestEnv(prefix string, chars int, unit string) []corev1.EnvVar {
	var env []corev1.EnvVar
	for i := 0; chars > 0; i++ {
		name := fmt.Sprintf("%s%02d", prefix, i)
		n := min(chars-len(name), maxEnvValue)
		env = append(env, corev1.EnvVar{Name: name, Value: strings.Repeat(unit, n)})
		chars -= len(name) + n
	}
	return env
}

// statusCauses returns an API error's causes as "field: message".
func statusCauses(err error) []string {
	var status apierrors.APIStatus
	if !errors.As(err, &status) || status.Status().Details == nil {
		return nil
	}
	var out []string
	for _, c := range status.Status().Details.Causes {
		out = append(out, c.Field+": "+c.Message)
	}
	return out
}

// requireDenied requires err to be an Invalid error with exactly the
// causes want, in any order: the apiserver's CEL errors of different
// fields come in no fixed order.
func requireDenied(t *testing.T, what string, err error, want ...string) {
	t.Helper()
	if !apierrors.IsInvalid(err) {
		t.Fatalf("%s: %v; want it denied as invalid", what, err)
	}
	got := statusCauses(err)
	slices.Sort(got)
	want = slices.Sorted(slices.Values(want))
	if !slices.Equal(got, want) {
		t.Fatalf("%s: causes %q, want exactly %q", what, got, want)
	}
}

// TestBoundedInput: the largest App and Task the bounds admit are admitted
// and resolve, one character more is denied, names a label cannot carry
// are denied, each with the limit and the way out.
func TestBoundedInput(t *testing.T) {
	ctx := context.Background()
	c := newClient(t)
	ns := newNamespace(t, c)

	app := newApp(t, c, ns, "largest", func(a *v1alpha1.App) {
		a.Spec.Command, a.Spec.Args = []string{"/cnb/lifecycle/launcher"}, []string{"run"}
		a.Spec.Env = largestEnv("APP", maxSpecChars-len("/cnb/lifecycle/launcher")-len("run"), wide)
	})
	command := "bundle exec rake db:migrate"
	task := newTask(t, c, app, "largest", nil, func(task *v1alpha1.Task) {
		task.Spec.Command = command
		// Its own names, so the resolved run holds both in full.
		task.Spec.Env = largestEnv("TASK", maxSpecChars-len(command), wide)
	})
	got := &v1alpha1.Task{}
	if err := c.Get(ctx, client.ObjectKeyFromObject(task), got); err != nil {
		t.Fatal(err)
	}
	if got.Spec.Resolved == nil {
		t.Fatal("the largest Task has no resolved run")
	}
	// The App's, the Task's and VCAP_APPLICATION, which every Task gets.
	env := got.Spec.Resolved.Env
	if n, want := len(env), len(app.Spec.Env)+len(task.Spec.Env)+1; n != want {
		t.Fatalf("the largest Task's resolved run has %d env entries, want the App's, the Task's and VCAP_APPLICATION, %d", n, want)
	}
	if !slices.ContainsFunc(env, func(e corev1.EnvVar) bool { return e.Name == "VCAP_APPLICATION" && e.Value != "" }) {
		t.Fatalf("the largest Task's resolved run has no VCAP_APPLICATION")
	}

	for _, tc := range []struct {
		name string
		obj  client.Object
		want []string
	}{{
		name: "an App one character over",
		obj: &v1alpha1.App{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "over"},
			Spec: v1alpha1.AppSpec{Image: "registry.example.com/shop/web:v1", Args: []string{"run"}, Env: largestEnv("APP", maxSpecChars-len("run")+1, "x")}},
		want: []string{"spec: Invalid value: " + msgAppTotal},
	}, {
		// What ran the manager out of memory before: about 1 MiB.
		name: "an App of 1 MiB",
		obj: &v1alpha1.App{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "mebibyte"},
			Spec: v1alpha1.AppSpec{Image: "registry.example.com/shop/web:v1", Args: []string{"run"}, Env: largestEnv("APP", 1<<20, "x")}},
		want: []string{"spec: Invalid value: " + msgAppTotal},
	}, {
		name: "an App env value one character over",
		obj: &v1alpha1.App{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "value"},
			Spec: v1alpha1.AppSpec{Image: "registry.example.com/shop/web:v1", Args: []string{"run"},
				Env: []corev1.EnvVar{{Name: "CERT", Value: strings.Repeat("x", maxEnvValue+1)}}}},
		want: []string{"spec.env: Invalid value: " + msgEnvValue},
	}, {
		name: "an App name of 64 characters",
		obj: &v1alpha1.App{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: strings.Repeat("a", maxNameLength+1)},
			Spec: v1alpha1.AppSpec{Image: "registry.example.com/shop/web:v1", Args: []string{"run"}}},
		want: []string{"metadata: Invalid value: " + msgAppName},
	}, {
		name: "a Task one character over",
		obj: &v1alpha1.Task{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "over"},
			Spec: v1alpha1.TaskSpec{AppRef: v1alpha1.AppReference{Name: app.Name}, Command: command, Env: largestEnv("TASK", maxSpecChars-len(command)+1, "x")}},
		want: []string{"spec: Invalid value: " + msgTaskTotal},
	}, {
		name: "a Task env value one character over",
		obj: &v1alpha1.Task{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "value"},
			Spec: v1alpha1.TaskSpec{AppRef: v1alpha1.AppReference{Name: app.Name}, Command: command,
				Env: []corev1.EnvVar{{Name: "CERT", Value: strings.Repeat("x", maxEnvValue+1)}}}},
		// The webhook resolved it first: the run it would have is too.
		want: []string{"spec.env: Invalid value: " + msgEnvValue, "spec.resolved.env: Invalid value: each env value must have at most 32768 characters"},
	}, {
		name: "a Task name of 64 characters",
		obj: &v1alpha1.Task{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: strings.Repeat("t", maxNameLength+1)},
			Spec: v1alpha1.TaskSpec{AppRef: v1alpha1.AppReference{Name: app.Name}, Command: command}},
		want: []string{"metadata: Invalid value: " + msgTaskName},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			requireDenied(t, "creating "+tc.name, c.Create(ctx, tc.obj), tc.want...)
		})
	}

	// A name of 63 characters runs: its labels fit.
	long := waitForState(t, c, newTask(t, c, newApp(t, c, ns, strings.Repeat("a", maxNameLength)), strings.Repeat("t", maxNameLength), nil),
		v1alpha1.TaskStateSucceeded, time.Minute)
	if long.Status.ID != 1 {
		t.Fatalf("the Task of 63 characters has ID %d, want 1", long.Status.ID)
	}
}

// TestObjectCountQuota: a ResourceQuota on count/tasks.taskgate.dev and
// count/apps.taskgate.dev, as docs/install.md suggests for tenant
// namespaces, is enforced by the apiserver for taskgate's objects.
func TestObjectCountQuota(t *testing.T) {
	ctx := context.Background()
	c := newClient(t)
	ns := newNamespace(t, c)
	quota := &corev1.ResourceQuota{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "taskgate"},
		Spec: corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{
			"count/apps.taskgate.dev":  resource.MustParse("1"),
			"count/tasks.taskgate.dev": resource.MustParse("2"),
		}},
	}
	if err := c.Create(ctx, quota); err != nil {
		t.Fatalf("creating ResourceQuota: %v", err)
	}
	// Until the quota controller has counted, the apiserver refuses
	// objects the quota covers.
	eventually(t, time.Minute, "the quota to be counted", func() (bool, error) {
		if err := c.Get(ctx, client.ObjectKeyFromObject(quota), quota); err != nil {
			return false, err
		}
		return len(quota.Status.Hard) == 2, fmt.Errorf("status %+v", quota.Status)
	})
	app := newApp(t, c, ns, "shop")
	newTask(t, c, app, "one", nil)
	newTask(t, c, app, "two", nil)

	err := c.Create(ctx, &v1alpha1.Task{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "three"},
		Spec: v1alpha1.TaskSpec{AppRef: v1alpha1.AppReference{Name: app.Name}, Command: "true"}})
	want := `tasks.taskgate.dev "three" is forbidden: exceeded quota: taskgate, requested: count/tasks.taskgate.dev=1, used: count/tasks.taskgate.dev=2, limited: count/tasks.taskgate.dev=2`
	if !apierrors.IsForbidden(err) || err.Error() != want {
		t.Fatalf("creating a third Task: %v; want %q", err, want)
	}
	err = c.Create(ctx, &v1alpha1.App{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "blog"},
		Spec: v1alpha1.AppSpec{Image: "registry.example.com/blog:v1", Args: []string{"run"}}})
	want = `apps.taskgate.dev "blog" is forbidden: exceeded quota: taskgate, requested: count/apps.taskgate.dev=1, used: count/apps.taskgate.dev=1, limited: count/apps.taskgate.dev=1`
	if !apierrors.IsForbidden(err) || err.Error() != want {
		t.Fatalf("creating a second App: %v; want %q", err, want)
	}
}

// TestLargestAppsStayInMemory fills a namespace with 300 Apps of the most
// bytes the API admits, with two manager replicas running as the chart
// runs them (GOMEMLIMIT from its memory limit). Each replica caches them
// all; each stays under the chart's memory limit, also when it starts with
// them all to list, and Job admission, which resolves from those cached
// Apps, keeps answering throughout.
func TestLargestAppsStayInMemory(t *testing.T) {
	const n = 300
	ctx := context.Background()
	c := newClient(t)
	ns := newNamespace(t, c)
	runtimeEnv, err := localcluster.ChartRuntimeEnv(cluster.RepoRoot)
	if err != nil {
		t.Fatal(err)
	}
	var limit int64
	for _, kv := range runtimeEnv {
		if v, ok := strings.CutPrefix(kv, "GOMEMLIMIT="); ok {
			if limit, err = strconv.ParseInt(v, 10, 64); err != nil {
				t.Fatal(err)
			}
		}
	}
	if limit == 0 {
		t.Fatalf("no GOMEMLIMIT in the chart's runtime env %v", runtimeEnv)
	}

	bin := managerBinaryInstead(ctx, t)
	ports := webhookServiceOfTwo(t)
	replicas := make([]*localcluster.ManagerProcess, 2)
	start := func(i int) {
		m, err := localcluster.StartManager(ctx, localcluster.ManagerOptions{
			Binary: bin, Kubeconfig: cluster.Kubeconfig, Namespace: managerNamespace, Webhooks: running.hooks,
			WebhookPort: ports[i], Log: filepath.Join(cluster.Dir, fmt.Sprintf("manager-bounds-%d.log", i)),
			Args: []string{"--leader-elect=true", "--leader-election-id=e2e-bounds"}, Env: runtimeEnv,
		})
		if err != nil {
			t.Fatalf("starting replica %d: %v", i, err)
		}
		t.Cleanup(m.Stop)
		replicas[i] = m
	}
	start(0)
	start(1)
	peaks := make([]int64, 2)
	sample := func(when string) {
		t.Helper()
		for i, m := range replicas {
			if m == nil {
				continue
			}
			mem, err := m.Memory()
			if err != nil {
				t.Fatal(err)
			}
			peaks[i] = max(peaks[i], mem.Peak)
			t.Logf("replica %d %s: RSS %d MiB (anon %d MiB), peak %d MiB, limit %d MiB", i, when, mem.RSS>>20, mem.Anon>>20, mem.Peak>>20, limit>>20)
		}
	}
	sample("before")

	// Job admission answers while the Apps are created, each Job naming
	// one of them, so its webhook resolves from the cache being filled.
	stopJobs := make(chan struct{})
	var jobs sync.WaitGroup
	var latencies []time.Duration
	var jobErrs []error
	jobs.Add(1)
	go func() {
		defer jobs.Done()
		for i := 0; ; i++ {
			select {
			case <-stopJobs:
				return
			case <-time.After(50 * time.Millisecond):
			}
			job := &batchv1.Job{
				ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("job-%d", i), Labels: map[string]string{v1alpha1.LabelApp: "app-000"}},
				Spec: batchv1.JobSpec{BackoffLimit: ptr.To[int32](0), Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
					RestartPolicy: corev1.RestartPolicyNever,
					Containers:    []corev1.Container{{Name: "main", Image: "registry.example.com/app:v1"}},
				}}},
			}
			began := time.Now()
			// Dry run: admitted in full, webhooks included, and nothing
			// left to run.
			err := c.Create(ctx, job, client.DryRunAll)
			latencies = append(latencies, time.Since(began))
			if err != nil {
				jobErrs = append(jobErrs, err)
			}
		}
	}()

	env := largestEnv("APP", maxSpecChars-len("run"), wide)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 10)
	errs := make(chan error, n)
	created := time.Now()
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			errs <- c.Create(ctx, &v1alpha1.App{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("app-%03d", i)},
				Spec: v1alpha1.AppSpec{Image: "registry.example.com/shop/web:v1", Args: []string{"run"}, Env: env}})
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("creating App: %v", err)
		}
	}
	bytes := 0
	for _, e := range env {
		bytes += len(e.Name) + len(e.Value)
	}
	t.Logf("%d Apps of %d KiB of env each created in %s", n, bytes>>10, time.Since(created).Round(time.Second))
	// A replica's App informer starts with the first admission that reads
	// an App (or, on the leader, with the App reconciler), and that
	// admission waits for it to list them all. served waits until replica
	// i has answered a Job of the last App, with its env resolved.
	last := fmt.Sprintf("app-%03d", n-1)
	served := func(i int) {
		t.Helper()
		eventually(t, 2*time.Minute, fmt.Sprintf("replica %d to admit a Job of %s", i, last), func() (bool, error) {
			job := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "last", Labels: map[string]string{v1alpha1.LabelApp: last}},
				Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever,
					Containers: []corev1.Container{{Name: "main", Image: "x"}}}}}}
			if err := c.Create(ctx, job, client.DryRunAll); err != nil {
				return false, err
			}
			if got := len(job.Spec.Template.Spec.Containers[0].Env); got != len(env) {
				return false, fmt.Errorf("the Job got %d env entries, want the App's %d", got, len(env))
			}
			metrics, err := replicas[i].Metrics()
			return err == nil && metrics["controller_runtime_webhook_requests_total"] > 0, err
		})
	}
	served(0)
	served(1)
	time.Sleep(5 * time.Second) // both replicas' watches deliver the last Apps
	sample("with the Apps cached")
	close(stopJobs)
	jobs.Wait()

	// A replica starting lists them all at once: the OOM risk of a
	// restart, which a crash loop would repeat. Replica 0 then stops, so
	// the admissions, which the API server sends on connections it keeps,
	// reach the new replica 1, and it leads.
	replicas[1].Stop()
	start(1)
	peaks[1] = 0
	replicas[0].Stop()
	replicas[0] = nil
	served(1)
	sample("after replica 1 restarted and listed the Apps, replica 0 stopped")

	for i, p := range peaks {
		if p >= limit {
			t.Errorf("replica %d peaked at %d MiB, at or over the chart's limit of %d MiB", i, p>>20, limit>>20)
		}
	}
	if len(jobErrs) > 0 {
		t.Fatalf("%d of %d Job admissions failed during the fill, the first: %v", len(jobErrs), len(latencies), jobErrs[0])
	}
	if len(latencies) == 0 {
		t.Fatal("no Job was admitted during the fill")
	}
	slices.Sort(latencies)
	t.Logf("Job admission during the fill: %d answered, p50 %s, p99 %s, max %s", len(latencies),
		latencies[len(latencies)/2].Round(time.Millisecond), latencies[len(latencies)*99/100].Round(time.Millisecond), latencies[len(latencies)-1].Round(time.Millisecond))
}
