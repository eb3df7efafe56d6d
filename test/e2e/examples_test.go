package e2e

import (
	"path/filepath"
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
	logs := containerLogs(t, ns, migrated.Status.PodName, "step-main")
	for _, want := range []string{
		"Connecting to postgresql at db.shop.svc:5432 as shop (RAILS_ENV=production)\n",
		"== 20261201090000_add_status_to_orders: migrated",
		"3 migrations applied\n",
	} {
		if !strings.Contains(logs, want) {
			t.Fatalf("migrate's logs:\n%s\nwant %q", logs, want)
		}
	}
	if got, want := containerLogs(t, ns, failed.Status.PodName, "step-main"),
		"Preparing the weekly digest for 1,204 customers\nNet::SMTPServerBusy: 451 4.3.0 mail relay temporarily unavailable, try again later\n"; got != want {
		t.Fatalf("send-digest's logs = %q, want %q", got, want)
	}
}
