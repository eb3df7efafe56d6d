package e2e

import (
	"path/filepath"
	"strings"
	"testing"
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
	for _, want := range []string{"app.taskgate.dev/shop created", "task.taskgate.dev/migrate created"} {
		if !strings.Contains(out, want) {
			t.Fatalf("applying examples/ said:\n%s\nwant %q", out, want)
		}
	}
}
