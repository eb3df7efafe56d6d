package e2e

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/taskgate/taskgate/api/v1alpha1"
)

// TestExamplesApply applies every file in examples/ in a namespace on the
// real node, as `make demo` does, with the demo's database, so an example
// that drifts from the API, or from what its image's commands do, fails
// here first.
func TestExamplesApply(t *testing.T) {
	c := newClient(t)
	ns := newRealNodeNamespace(t, c)
	files, err := filepath.Glob(filepath.Join(cluster.RepoRoot, "examples", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("finding examples: %v (found %d)", err, len(files))
	}
	// As the demo does: the database with the App's binding Secret, which
	// holds its password, and the Tasks once it is ready.
	begin := time.Now()
	bindSecurityGroups(t, c, ns, "postgres-egress") // examples/app.yaml's, as hack/demo-policy.yaml binds it
	mustKubectl(t, "", "apply", "-n", ns, "-f", demoDatabaseFile(), "-f", filepath.Join(cluster.RepoRoot, "examples", "app.yaml"))
	waitForDatabase(t, c, ns)
	t.Logf("database ready in %s", time.Since(begin).Round(10*time.Millisecond))
	out := mustKubectl(t, "", "apply", "-n", ns, "-f", filepath.Join(cluster.RepoRoot, "examples"))
	for _, want := range []string{"app.taskgate.dev/shop unchanged", "task.taskgate.dev/migrate created", "task.taskgate.dev/send-digest created"} {
		if !strings.Contains(out, want) {
			t.Fatalf("applying examples/ said:\n%s\nwant %q", out, want)
		}
	}
	key := func(name string) *v1alpha1.Task {
		return &v1alpha1.Task{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	}
	migrated := waitForState(t, c, key("migrate"), v1alpha1.TaskStateSucceeded, 2*time.Minute)
	failed := waitForState(t, c, key("send-digest"), v1alpha1.TaskStateFailed, 2*time.Minute)
	if failed.Status.FailureReason != "Exited with status 75" {
		t.Fatalf("send-digest failure reason = %q, want Exited with status 75", failed.Status.FailureReason)
	}
	realPod(t, c, ns, migrated.Status.PodName)
	realPod(t, c, ns, failed.Status.PodName)
	want := "Connecting to postgresql at db:5432 as postgres (RAILS_ENV=production)\n"
	for _, m := range []string{"20261101090000_create_products", "20261115090000_create_orders", "20261201090000_add_status_to_orders"} {
		want += "== " + m + ": migrating ======================================\n" +
			"== " + m + ": migrated ========================================\n"
	}
	want += "3 migrations applied\n"
	if got := containerLogs(t, ns, migrated.Status.PodName, "step-main"); got != want {
		t.Fatalf("migrate's logs:\n%s\nwant:\n%s", got, want)
	}
	// The error goes to stderr: kubelet may log it before or after the
	// line on stdout, so the lines are compared as a set.
	got := strings.Split(strings.TrimSpace(containerLogs(t, ns, failed.Status.PodName, "step-main")), "\n")
	slices.Sort(got)
	wantLines := []string{
		"Net::SMTPServerBusy: 451 4.3.0 mail relay temporarily unavailable, try again later",
		"Preparing the weekly digest for 1,204 customers",
	}
	if !slices.Equal(got, wantLines) {
		t.Fatalf("send-digest's log lines = %q, want %q", got, wantLines)
	}

	// A second run of the App's code sees what the first left in the
	// database, as psql lists it (aligned columns, padded headers).
	status := &v1alpha1.Task{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "migrate-status"},
		Spec:       v1alpha1.TaskSpec{AppRef: v1alpha1.AppReference{Name: "shop"}, Command: "bundle exec rake db:migrate:status"},
	}
	if err := c.Create(context.Background(), status); err != nil {
		t.Fatalf("creating Task %s: %v", status.Name, err)
	}
	listed := waitForState(t, c, status, v1alpha1.TaskStateSucceeded, 2*time.Minute)
	realPod(t, c, ns, listed.Status.PodName)
	want = "database: postgres at db:5432\n" +
		"\n" +
		"               List of relations\n" +
		" Schema |       Name        | Type  |  Owner   \n" +
		"--------+-------------------+-------+----------\n" +
		" public | orders            | table | postgres\n" +
		" public | products          | table | postgres\n" +
		" public | schema_migrations | table | postgres\n" +
		"(3 rows)\n" +
		"\n" +
		"    version     \n" +
		"----------------\n" +
		" 20261101090000\n" +
		" 20261115090000\n" +
		" 20261201090000\n" +
		"(3 rows)\n" +
		"\n"
	if got := containerLogs(t, ns, listed.Status.PodName, "step-main"); got != want {
		t.Fatalf("db:migrate:status's logs:\n%q\nwant:\n%q", got, want)
	}
}
