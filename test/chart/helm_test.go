package chart

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/taskgate/taskgate/test/chartrender"
)

const (
	release   = "tgchart"
	namespace = "tgchart-system"
	// fullname is what taskgate.fullname makes of release.
	fullname = "tgchart-taskgate"
)

// repoRoot is the checkout's root; go test runs in test/chart.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// chartDir is charts/taskgate.
func chartDir(t *testing.T) string {
	return filepath.Join(repoRoot(t), "charts", "taskgate")
}

// helm runs the pinned helm in the repository root and returns its output,
// stdout then stderr.
func helm(t *testing.T, args ...string) (string, error) {
	t.Helper()
	return chartrender.Helm(repoRoot(t), args...)
}

// render renders chart as release tgchart in tgchart-system, with extra
// helm template arguments, and returns its objects.
func renderChart(t *testing.T, chart string, args ...string) []map[string]any {
	t.Helper()
	out, err := helm(t, append([]string{"template", release, chart, "--namespace", namespace}, args...)...)
	if err != nil {
		t.Fatalf("helm template %s %s: %v\n%s", chart, strings.Join(args, " "), err, out)
	}
	return decode(t, out)
}

// render renders charts/taskgate.
func render(t *testing.T, args ...string) []map[string]any {
	t.Helper()
	return renderChart(t, "charts/taskgate", args...)
}

// renderError renders charts/taskgate, which must fail, and returns helm's
// message: the text after "Error: ", up to helm's hint to use --debug.
func renderError(t *testing.T, args ...string) string {
	t.Helper()
	out, err := helm(t, append([]string{"template", release, "charts/taskgate", "--namespace", namespace}, args...)...)
	if err == nil {
		t.Fatalf("helm template %s succeeded; want it refused", strings.Join(args, " "))
	}
	_, msg, ok := strings.Cut(out, "Error: ")
	if !ok {
		t.Fatalf("helm template %s: %v, with no error message:\n%s", strings.Join(args, " "), err, out)
	}
	msg, _, _ = strings.Cut(msg, "\n\nUse --debug flag")
	return strings.TrimSpace(msg)
}

// decode splits a YAML stream into objects.
func decode(t *testing.T, stream string) []map[string]any {
	t.Helper()
	objs, err := chartrender.Decode(stream)
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

// decodeFile decodes a YAML stream from a file relative to the repository
// root.
func decodeFile(t *testing.T, path string) []map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), path))
	if err != nil {
		t.Fatal(err)
	}
	return decode(t, string(b))
}

// find returns the object of a kind and name; name "" matches any.
func find(t *testing.T, objs []map[string]any, kind, name string) map[string]any {
	t.Helper()
	obj := chartrender.Find(objs, kind, name)
	if obj == nil {
		t.Fatalf("no %s %q rendered", kind, name)
	}
	return obj
}

// all returns the objects of a kind.
func all(objs []map[string]any, kind string) []map[string]any {
	var out []map[string]any
	for _, obj := range objs {
		if obj["kind"] == kind {
			out = append(out, obj)
		}
	}
	return out
}

// field is chartrender.Field, short for the many uses here.
func field[T any](obj any, path ...any) T { return chartrender.Field[T](obj, path...) }

// podSpec is the manager Deployment's pod spec.
func podSpec(t *testing.T, objs []map[string]any, name string) map[string]any {
	t.Helper()
	return field[map[string]any](find(t, objs, "Deployment", name), "spec", "template", "spec")
}

// y decodes a YAML literal of a test's expectations.
func y(t *testing.T, s string) any {
	t.Helper()
	var v any
	if err := yaml.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("decoding %q: %v", s, err)
	}
	return v
}
