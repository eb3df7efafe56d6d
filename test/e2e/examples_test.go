package e2e

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/taskgate/taskgate/api/v1alpha1"
)

// TestExamplesApply applies every file in examples/ in a namespace on the
// real node, as `make demo` does, so an example that drifts from the API,
// or from what its image's commands do, fails here first.
func TestExamplesApply(t *testing.T) {
	c := newClient(t)
	ns := newRealNodeNamespace(t, c)
	files, err := filepath.Glob(filepath.Join(cluster.RepoRoot, "examples", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("finding examples: %v (found %d)", err, len(files))
	}
	out := mustKubectl(t, "", "apply", "-n", ns, "-f", filepath.Join(cluster.RepoRoot, "examples"))
	for _, want := range []string{"app.taskgate.dev/shop created", "task.taskgate.dev/migrate created", "task.taskgate.dev/send-digest created"} {
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
	want := "Connecting to postgresql at db.shop.svc:5432 as shop (RAILS_ENV=production)\n"
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
}
