package e2e

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/taskgate/taskgate/api/v1alpha1"
	"github.com/taskgate/taskgate/test/localcluster"
)

// demoDatabaseFile is the demo's PostgreSQL server and its Service "db".
// The server's password is the key password of the Secret shop-db in the
// same namespace.
func demoDatabaseFile() string {
	return filepath.Join(cluster.RepoRoot, "hack", "demo-database.yaml")
}

// waitForDatabase waits for the demo database's pod in ns to be ready,
// which it is once postgres accepts connections, and returns the pod.
func waitForDatabase(t *testing.T, c client.Client, ns string) *corev1.Pod {
	t.Helper()
	var pods corev1.PodList
	eventually(t, 2*time.Minute, "the database to be ready", func() (bool, error) {
		err := c.List(context.Background(), &pods, client.InNamespace(ns), client.MatchingLabels{"app.kubernetes.io/name": "db"})
		return err == nil && len(pods.Items) == 1 && readyCondition(&pods.Items[0]) != nil, err
	})
	return realPod(t, c, ns, pods.Items[0].Name)
}

// readyCondition is the pod's Ready condition if it is true, else nil.
func readyCondition(pod *corev1.Pod) *corev1.PodCondition {
	for i, cond := range pod.Status.Conditions {
		if cond.Type == corev1.PodReady && cond.Status == corev1.ConditionTrue {
			return &pod.Status.Conditions[i]
		}
	}
	return nil
}

// TestTaskWithWrongDatabasePasswordFails runs the demo's migration against
// the demo's database with a binding whose password is wrong. Everything is
// created at once, so the migration first finds no database (its Service
// has no ready pod) and waits for it; PostgreSQL then refuses the password,
// and that failure is final at once: the Task fails with psql's own error
// and exit status, seconds after the database became ready rather than
// after the 30 s a retry of it would take.
func TestTaskWithWrongDatabasePasswordFails(t *testing.T) {
	ctx := context.Background()
	c := newClient(t)
	ns := newRealNodeNamespace(t, c)
	binding := map[string]string{"type": "postgresql", "host": "db", "port": "5432", "username": "postgres"}
	for name, password := range map[string]string{"shop-db": "the-right-one", "shop-db-wrong": "not-the-right-one"} {
		secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, StringData: map[string]string{"password": password}}
		for k, v := range binding {
			secret.StringData[k] = v
		}
		if err := c.Create(ctx, secret); err != nil {
			t.Fatalf("creating Secret %s: %v", name, err)
		}
	}
	// The server reads shop-db, which must exist before its pod does.
	mustKubectl(t, "", "apply", "-n", ns, "-f", demoDatabaseFile())
	app := realApp(t, c, ns, localcluster.ImageDemoApp, func(app *v1alpha1.App) {
		app.Spec.ServiceBindings = []v1alpha1.ServiceBinding{{Name: "db", SecretName: "shop-db-wrong"}}
	})
	task := realTask(t, c, app, "migrate", "bundle exec rake db:migrate")

	done := waitForState(t, c, task, v1alpha1.TaskStateFailed, 2*time.Minute)
	// psql exits 2 when it cannot connect, as when the password is
	// refused, and the script exits with psql's status. (ON_ERROR_STOP
	// bears only on SQL errors, which exit 3.)
	if ptr.Deref(done.Status.ExitCode, -1) != 2 || done.Status.FailureReason != "Exited with status 2" {
		t.Fatalf("exit code %v, failure reason %q; want 2, Exited with status 2", ptr.Deref(done.Status.ExitCode, -1), done.Status.FailureReason)
	}
	pod := realPod(t, c, ns, done.Status.PodName)
	svc := &corev1.Service{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "db"}, svc); err != nil {
		t.Fatalf("reading Service db: %v", err)
	}
	// The error goes to stderr: kubelet may log it before or after the
	// line on stdout, so the lines are compared as a set.
	got := strings.Split(strings.TrimSpace(containerLogs(t, ns, done.Status.PodName, "step-main")), "\n")
	slices.Sort(got)
	want := []string{
		"Connecting to postgresql at db:5432 as postgres (RAILS_ENV=production)",
		`psql: error: connection to server at "db" (` + svc.Spec.ClusterIP + `), port 5432 failed: FATAL:  password authentication failed for user "postgres"`,
		"rake aborted!",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("migrate's log lines:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// How soon it fails is a timing, which belongs in make bench: kube-proxy
	// may still lack the Service's endpoint when the pod turns Ready. It is
	// logged here.
	db := waitForDatabase(t, c, ns)
	ready := readyCondition(db).LastTransitionTime.Time
	var step *corev1.ContainerStateTerminated
	for _, s := range pod.Status.ContainerStatuses {
		if s.Name == "step-main" {
			step = s.State.Terminated
		}
	}
	if step == nil {
		t.Fatalf("step-main has not terminated: %+v", pod.Status.ContainerStatuses)
	}
	t.Logf("database ready %s, step ran %s to %s", ready.Format(time.TimeOnly), step.StartedAt.Format(time.TimeOnly), step.FinishedAt.Format(time.TimeOnly))
}
