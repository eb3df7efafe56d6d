package e2e

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/taskgate/taskgate/api/v1alpha1"
)

// TestExamplesApply applies every file in examples/, as `make demo` does,
// so an example that drifts from the API fails here first.
func TestExamplesApply(t *testing.T) {
	c := newClient(t)
	ns := newNamespace(t, c)
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
	waitForState(t, c, key("migrate"), v1alpha1.TaskStateSucceeded, time.Minute)
	failed := waitForState(t, c, key("send-digest"), v1alpha1.TaskStateFailed, time.Minute)
	if failed.Status.FailureReason != "Exited with status 75" {
		t.Fatalf("send-digest failure reason = %q, want Exited with status 75", failed.Status.FailureReason)
	}
}
