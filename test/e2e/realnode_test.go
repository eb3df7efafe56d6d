package e2e

import (
	"context"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/taskgate/taskgate/api/v1alpha1"
	"github.com/taskgate/taskgate/test/localcluster"
)

// realApp creates an App whose Tasks run image on the real node.
func realApp(t *testing.T, c client.Client, ns, image string, mutate ...func(*v1alpha1.App)) *v1alpha1.App {
	t.Helper()
	return newApp(t, c, ns, "shop", append([]func(*v1alpha1.App){func(app *v1alpha1.App) {
		app.Spec.Image = image
		app.Spec.Command, app.Spec.Args = nil, nil
	}}, mutate...)...)
}

// realTask creates a Task of app that runs command.
func realTask(t *testing.T, c client.Client, app *v1alpha1.App, name, command string, mutate ...func(*v1alpha1.Task)) *v1alpha1.Task {
	t.Helper()
	return newTask(t, c, app, name, nil, append([]func(*v1alpha1.Task){func(task *v1alpha1.Task) {
		task.Spec.Command = command
	}}, mutate...)...)
}

// realPod reads the named pod and fails the test unless it ran on the
// real node, as kubelet alone reported it.
func realPod(t *testing.T, c client.Client, ns, name string) *corev1.Pod {
	t.Helper()
	pod := &corev1.Pod{}
	if err := c.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, pod); err != nil {
		t.Fatalf("reading pod %s: %v", name, err)
	}
	if err := localcluster.CheckRealPod(pod); err != nil {
		t.Fatal(err)
	}
	return pod
}

// containerLogs reads a container's logs through the apiserver, which
// asks the real node's kubelet.
func containerLogs(t *testing.T, ns, pod, container string) string {
	t.Helper()
	out, err := cluster.ContainerLogs(context.Background(), ns, pod, container)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// processRunning reports whether a process with exactly these arguments
// runs on the machine. Commands in these tests carry unique arguments
// (sleep 3001) so that no other process can match.
func processRunning(args ...string) bool {
	return len(localcluster.Processes(func(a []string) bool { return slices.Equal(a, args) })) > 0
}

func TestRealNodeRunsAPod(t *testing.T) {
	c := newClient(t)
	ns := newRealNodeNamespace(t, c)
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "hello"},
		Spec: corev1.PodSpec{
			RestartPolicy: corev1.RestartPolicyNever,
			Containers: []corev1.Container{{
				Name: "main", Image: localcluster.ImageShellUID,
				Command: []string{"/bin/sh", "-c", "echo hello from $(hostname); exit 3"},
			}},
		},
	}
	if err := c.Create(context.Background(), pod); err != nil {
		t.Fatalf("creating pod: %v", err)
	}
	eventually(t, time.Minute, "the pod to fail", func() (bool, error) {
		err := c.Get(context.Background(), client.ObjectKeyFromObject(pod), pod)
		return pod.Status.Phase == corev1.PodFailed, err
	})
	pod = realPod(t, c, ns, "hello")
	term := pod.Status.ContainerStatuses[0].State.Terminated
	if term == nil || term.ExitCode != 3 || term.Reason != "Error" {
		t.Fatalf("container state = %+v, want terminated with exit code 3, reason Error", pod.Status.ContainerStatuses[0].State)
	}
	if got := containerLogs(t, ns, "hello", "main"); got != "hello from hello\n" {
		t.Fatalf("logs = %q, want %q", got, "hello from hello\n")
	}
}

func TestRealTaskExitCodes(t *testing.T) {
	c := newClient(t)
	ns := newRealNodeNamespace(t, c)
	app := realApp(t, c, ns, localcluster.ImageShellUID)
	for _, tc := range []struct {
		name, command string
		state         v1alpha1.TaskState
		exitCode      int32
		reason        string
		logs          string
	}{
		{"zero", "echo done", v1alpha1.TaskStateSucceeded, 0, "", "done\n"},
		{"three", "echo failing >&2; exit 3", v1alpha1.TaskStateFailed, 3, "Exited with status 3", "failing\n"},
		{"missing", "no-such-command", v1alpha1.TaskStateFailed, 127, "Exited with status 127", "/bin/sh: no-such-command: not found\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			done := waitForState(t, c, realTask(t, c, app, tc.name, tc.command), tc.state, 2*time.Minute)
			if done.Status.ExitCode == nil || *done.Status.ExitCode != tc.exitCode || done.Status.FailureReason != tc.reason {
				t.Fatalf("exit code %v, failure reason %q; want %d, %q", ptr.Deref(done.Status.ExitCode, -1), done.Status.FailureReason, tc.exitCode, tc.reason)
			}
			realPod(t, c, ns, done.Status.PodName)
			if got := containerLogs(t, ns, done.Status.PodName, "step-main"); got != tc.logs {
				t.Fatalf("logs = %q, want %q", got, tc.logs)
			}
		})
	}
}

func TestRealTaskSeesItsEnvAndBindings(t *testing.T) {
	c := newClient(t)
	ns := newRealNodeNamespace(t, c)
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "shop-db"},
		StringData: map[string]string{"type": "postgresql", "host": "db.shop.svc", "password": "s3cret"},
	}
	if err := c.Create(context.Background(), secret); err != nil {
		t.Fatalf("creating Secret: %v", err)
	}
	app := realApp(t, c, ns, localcluster.ImageShellUID, func(app *v1alpha1.App) {
		app.Spec.ServiceBindings = []v1alpha1.ServiceBinding{{Name: "db", SecretName: "shop-db"}}
	})
	eventually(t, time.Minute, "the App to be Ready", func() (bool, error) {
		err := c.Get(context.Background(), client.ObjectKeyFromObject(app), app)
		return err == nil && meta.IsStatusConditionTrue(app.Status.Conditions, "Ready"), err
	})
	task := realTask(t, c, app, "env",
		`echo "RAILS_ENV=$RAILS_ENV"; echo "BATCH=$BATCH"; echo "SERVICE_BINDING_ROOT=$SERVICE_BINDING_ROOT"; `+
			`for f in host password type; do echo "db/$f=$(cat $SERVICE_BINDING_ROOT/db/$f)"; done; echo "VCAP_SERVICES=$VCAP_SERVICES"; id -u`,
		func(task *v1alpha1.Task) { task.Spec.Env = []corev1.EnvVar{{Name: "BATCH", Value: "nightly"}} })
	done := waitForState(t, c, task, v1alpha1.TaskStateSucceeded, 2*time.Minute)
	realPod(t, c, ns, done.Status.PodName)
	got := strings.Split(strings.TrimSpace(containerLogs(t, ns, done.Status.PodName, "step-main")), "\n")
	want := []string{
		"RAILS_ENV=production", "BATCH=nightly", "SERVICE_BINDING_ROOT=/bindings",
		"db/host=db.shop.svc", "db/password=s3cret", "db/type=postgresql",
	}
	if len(got) != len(want)+2 || strings.Join(got[:len(want)], "\n") != strings.Join(want, "\n") {
		t.Fatalf("the process saw:\n%s\nwant first:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	vcap := strings.TrimPrefix(got[len(want)], "VCAP_SERVICES=")
	for _, part := range []string{`"name":"db"`, `"host":"db.shop.svc"`, `"password":"s3cret"`} {
		if !strings.Contains(vcap, part) {
			t.Fatalf("VCAP_SERVICES = %s, want it to contain %s", vcap, part)
		}
	}
	if got[len(got)-1] != "1000" {
		t.Fatalf("the process ran as uid %s, want the image's 1000", got[len(got)-1])
	}
}

func TestRealTaskOutOfMemory(t *testing.T) {
	c := newClient(t)
	ns := newRealNodeNamespace(t, c)
	app := realApp(t, c, ns, localcluster.ImageShellUID)
	// dd's 64 MiB block is filled from /dev/zero, so the pages are touched
	// and count against the 32 MiB limit.
	task := realTask(t, c, app, "hungry", "echo allocating; dd if=/dev/zero of=/dev/null bs=64M count=1", func(task *v1alpha1.Task) {
		task.Spec.Memory = ptr.To(resource.MustParse("32Mi"))
	})
	done := waitForState(t, c, task, v1alpha1.TaskStateFailed, 2*time.Minute)
	pod := realPod(t, c, ns, done.Status.PodName)
	if done.Status.FailureReason != "Exited with status 137 (out of memory)" {
		t.Fatalf("failure reason = %q, want Exited with status 137 (out of memory); pod status: %+v", done.Status.FailureReason, pod.Status.ContainerStatuses)
	}
}

func TestRealTaskCancelStopsItsProcess(t *testing.T) {
	c := newClient(t)
	ns := newRealNodeNamespace(t, c)
	app := realApp(t, c, ns, localcluster.ImageShellUID)
	task := realTask(t, c, app, "long", "echo started; exec sleep 3001")
	running := waitForState(t, c, task, v1alpha1.TaskStateRunning, 2*time.Minute)
	realPod(t, c, ns, running.Status.PodName)
	eventually(t, time.Minute, "the process to start", func() (bool, error) {
		return processRunning("sleep", "3001"), nil
	})

	cancelled := time.Now()
	mustKubectl(t, "", "patch", "task", "long", "-n", ns, "--type=merge", "-p", `{"spec":{"desiredState":"Cancelled"}}`)
	eventually(t, time.Minute, "the process to stop", func() (bool, error) {
		return !processRunning("sleep", "3001"), nil
	})
	stopped := time.Since(cancelled)
	done := waitForState(t, c, task, v1alpha1.TaskStateCancelled, time.Minute)
	if cond := succeededCondition(t, done); cond.Status != metav1.ConditionFalse || cond.Reason != "Cancelled" {
		t.Fatalf("Succeeded condition = %s/%s, want False/Cancelled", cond.Status, cond.Reason)
	}
	wantStoppedPodWithLogs(t, c, done, "started\n")
	t.Logf("cancel to process stopped: %s", stopped.Round(10*time.Millisecond))
}

// wantStoppedPodWithLogs checks that a cancelled or timed-out Task's pod is
// still there, its containers stopped by the kubelet (Tekton's
// keep-pod-on-cancel, which the cluster turns on as docs/install.md asks
// admins to), and that kubectl task logs prints exactly what the run
// printed, then the two lines with which Tekton's entrypoint says it
// stopped the step.
func wantStoppedPodWithLogs(t *testing.T, c client.Client, done *v1alpha1.Task, printed string) {
	t.Helper()
	eventually(t, time.Minute, "the pod's containers to stop", func() (bool, error) {
		pod := &corev1.Pod{}
		if err := c.Get(context.Background(), client.ObjectKey{Namespace: done.Namespace, Name: done.Status.PodName}, pod); err != nil {
			return false, err
		}
		return pod.Status.Phase == corev1.PodFailed, nil
	})
	pod := realPod(t, c, done.Namespace, done.Status.PodName)
	for _, cs := range pod.Status.ContainerStatuses {
		if cs.State.Terminated == nil {
			t.Fatalf("container %s of the stopped pod is not terminated: %+v", cs.Name, cs.State)
		}
	}
	// Twice apart, so that the pod is seen to stay, not merely to be
	// deleted later than the first look.
	for range 2 {
		if got := mustKubectlTask(t, done.Namespace, "logs", done.Name).stdout; !stoppedLogs.MatchString(got) || !strings.HasPrefix(got, printed+"20") {
			t.Fatalf("kubectl task logs %s printed %q, want %q then Tekton's lines matching %s", done.Name, got, printed, stoppedLogs)
		}
		time.Sleep(2 * time.Second)
	}
	realPod(t, c, done.Namespace, done.Status.PodName)
}

// stoppedLogs ends the logs of a step that Tekton's entrypoint stopped.
var stoppedLogs = regexp.MustCompile(`\n(\d{4}/\d\d/\d\d \d\d:\d\d:\d\d) INFO Step was canceling\n(\d{4}/\d\d/\d\d \d\d:\d\d:\d\d) Step was cancelled\n$`)

func TestRealTaskTimesOutAndStopsItsProcess(t *testing.T) {
	c := newClient(t)
	ns := newRealNodeNamespace(t, c)
	app := realApp(t, c, ns, localcluster.ImageShellUID)
	// Long enough for the process to start on a busy machine (a pod's
	// create to running takes 2-5 s here), so that the timeout stops it.
	task := realTask(t, c, app, "slow", "echo waiting; exec sleep 3002", func(task *v1alpha1.Task) {
		task.Spec.Timeout = &metav1.Duration{Duration: 15 * time.Second}
	})
	eventually(t, 2*time.Minute, "the process to start", func() (bool, error) {
		return processRunning("sleep", "3002"), nil
	})
	done := waitForState(t, c, task, v1alpha1.TaskStateFailed, time.Minute)
	if cond := succeededCondition(t, done); cond.Reason != "TimedOut" || done.Status.FailureReason != "Task timed out after 15s" {
		t.Fatalf("Succeeded reason %q, failure reason %q; want TimedOut, Task timed out after 15s", cond.Reason, done.Status.FailureReason)
	}
	eventually(t, time.Minute, "the process to stop", func() (bool, error) {
		return !processRunning("sleep", "3002"), nil
	})
	wantStoppedPodWithLogs(t, c, done, "waiting\n")
}

func TestRealTaskRetriesAFailingProcess(t *testing.T) {
	c := newClient(t)
	ns := newRealNodeNamespace(t, c)
	app := realApp(t, c, ns, localcluster.ImageShellUID)
	task := realTask(t, c, app, "flaky", "echo attempt; exit 4", func(task *v1alpha1.Task) {
		task.Spec.Retries = ptr.To[int32](2)
	})
	done := waitForState(t, c, task, v1alpha1.TaskStateFailed, 3*time.Minute)
	if done.Status.FailureReason != "Exited with status 4" {
		t.Fatalf("failure reason = %q, want Exited with status 4", done.Status.FailureReason)
	}
	tr := &pipelinev1.TaskRun{}
	if err := c.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "flaky-run"}, tr); err != nil {
		t.Fatalf("reading TaskRun: %v", err)
	}
	if len(tr.Status.RetriesStatus) != 2 {
		t.Fatalf("TaskRun ran %d retries, want 2", len(tr.Status.RetriesStatus))
	}
	for _, retry := range tr.Status.RetriesStatus {
		pod := realPod(t, c, ns, retry.PodName)
		if code := pod.Status.ContainerStatuses[len(pod.Status.ContainerStatuses)-1].State.Terminated.ExitCode; code != 4 {
			t.Fatalf("attempt in pod %s exited %d, want 4", pod.Name, code)
		}
	}
}

// TestRealTaskImageUsers runs the hardened default security context
// (runAsNonRoot) against the three kinds of image user: each Task either
// runs or fails at once saying what to set, and none waits in Pending.
func TestRealTaskImageUsers(t *testing.T) {
	c := newClient(t)
	for _, tc := range []struct {
		name, image string
		state       v1alpha1.TaskState
		reason      string
	}{
		{"numeric-user", localcluster.ImageShellUID, v1alpha1.TaskStateSucceeded, ""},
		{"root", localcluster.ImageShellRoot, v1alpha1.TaskStateFailed,
			"The image runs as root, and Tasks run as non-root unless their App says otherwise: set the App's spec.securityContext.runAsUser (or spec.podSecurityContext.runAsUser) to a non-zero UID the image can run as, or build the image with a numeric non-root USER"},
		{"named-user", localcluster.ImageShellNamedUser, v1alpha1.TaskStateFailed,
			"The image names its user (app), and Kubernetes cannot check that a name is non-root: set the App's spec.securityContext.runAsUser (or spec.podSecurityContext.runAsUser) to that user's UID, or build the image with a numeric USER"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ns := newRealNodeNamespace(t, c)
			app := realApp(t, c, ns, tc.image)
			begin := time.Now()
			done := waitForState(t, c, realTask(t, c, app, "whoami", "id -u"), tc.state, time.Minute)
			if !strings.HasPrefix(done.Status.FailureReason, tc.reason) {
				t.Fatalf("failure reason = %q, want it to start with %q", done.Status.FailureReason, tc.reason)
			}
			t.Logf("%s: %s in %s", tc.name, done.Status.State, time.Since(begin).Round(10*time.Millisecond))
		})
	}
}

func TestPluginRunFollowsARealProcess(t *testing.T) {
	c := newClient(t)
	ns := newRealNodeNamespace(t, c)
	realApp(t, c, ns, localcluster.ImageShellUID)

	res := kubectlTask(t, ns, "run", "shop", "-c", "for i in 1 2 3; do echo line $i; sleep 1; done; exit 5", "--wait", "-f")
	// With -f, stdout is the process's output alone.
	name, _ := created(t, res.stderr)
	if res.stdout != "line 1\nline 2\nline 3\n" {
		t.Fatalf("run -f streamed %q, want the three lines in order; %s", res.stdout, res)
	}
	wantExit(t, res, 5, "error: Task "+name+" (ID 1) failed: Exited with status 5")

	logs := mustKubectlTask(t, ns, "logs", name)
	if logs.stdout != "line 1\nline 2\nline 3\n" {
		t.Fatalf("logs of the finished task = %q, want the three lines; %s", logs.stdout, logs)
	}
}

func TestJobLabelledWithAppRunsWithItsEnvOnTheRealNode(t *testing.T) {
	c := newClient(t)
	ns := newRealNodeNamespace(t, c)
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "shop-db"},
		StringData: map[string]string{"host": "db.shop.svc"},
	}
	if err := c.Create(context.Background(), secret); err != nil {
		t.Fatalf("creating Secret: %v", err)
	}
	realApp(t, c, ns, localcluster.ImageShellUID, func(app *v1alpha1.App) {
		app.Spec.ServiceBindings = []v1alpha1.ServiceBinding{{Name: "db", SecretName: "shop-db", Type: "postgresql"}}
	})
	job := localcluster.RealNodeJob(ns, "report", "shop", `echo "RAILS_ENV=$RAILS_ENV host=$(cat $SERVICE_BINDING_ROOT/db/host)"`)
	if err := c.Create(context.Background(), job); err != nil {
		t.Fatalf("creating Job: %v", err)
	}
	var pods corev1.PodList
	eventually(t, 2*time.Minute, "the Job's pod to succeed", func() (bool, error) {
		err := c.List(context.Background(), &pods, client.InNamespace(ns), client.MatchingLabels{"job-name": "report"})
		return err == nil && len(pods.Items) == 1 && pods.Items[0].Status.Phase == corev1.PodSucceeded, err
	})
	realPod(t, c, ns, pods.Items[0].Name)
	if got, want := containerLogs(t, ns, pods.Items[0].Name, "main"), "RAILS_ENV=production host=db.shop.svc\n"; got != want {
		t.Fatalf("the Job's process printed %q, want %q", got, want)
	}
}
