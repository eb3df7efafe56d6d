package chart

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// The values files of charts/taskgate/ci, the chart-testing convention:
// each is linted strictly and rendered here, and `make helm-lint` lints
// them. A file added there must be added here, with what it is for.
var ciValues = []string{
	"custom-values.yaml",
	"default-values.yaml",
	"existing-serviceaccount-values.yaml",
	"no-certmanager-values.yaml",
	"openshift-values.yaml",
	"watchnamespaces-values.yaml",
}

func TestCIValuesLintAndRender(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(chartDir(t), "ci", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range files {
		got = append(got, filepath.Base(f))
	}
	if !slices.Equal(got, ciValues) {
		t.Errorf("charts/taskgate/ci holds %v; the test knows %v", got, ciValues)
	}
	for _, values := range append([]string{""}, ciValues...) {
		t.Run(strings.TrimSuffix(values, "-values.yaml"), func(t *testing.T) {
			args := []string{"lint", "--strict", "charts/taskgate"}
			if values != "" {
				args = append(args, "--values", filepath.Join("charts", "taskgate", "ci", values))
			}
			out, err := helm(t, args...)
			if err != nil || !strings.Contains(out, "1 chart(s) linted, 0 chart(s) failed") || strings.Contains(out, "[WARNING]") || strings.Contains(out, "[ERROR]") {
				t.Errorf("helm %s: %v\n%s", strings.Join(args, " "), err, out)
			}
			args = nil
			if values != "" {
				args = []string{"--values", filepath.Join("charts", "taskgate", "ci", values)}
			}
			objs := render(t, args...)
			for _, obj := range objs {
				if field[string](obj, "apiVersion") == "" || field[string](obj, "kind") == "" || field[string](obj, "metadata", "name") == "" {
					t.Errorf("an object without apiVersion, kind or name: %v", obj)
				}
			}
			if len(all(objs, "Deployment")) != 1 || len(all(objs, "MutatingWebhookConfiguration")) != 1 || len(all(objs, "ValidatingWebhookConfiguration")) != 1 {
				t.Errorf("rendered %d objects, not one Deployment and one of each webhook configuration", len(objs))
			}
		})
	}
}

// TestSubchart renders the chart as a dependency of a throw-away parent
// chart, with the global values Helm then passes to every subchart; and
// shows that the schema without its "global" property refuses exactly that.
func TestSubchart(t *testing.T) {
	parentChart := func(t *testing.T, editSchema func(map[string]any)) string {
		parent := t.TempDir()
		if err := os.CopyFS(filepath.Join(parent, "charts", "taskgate"), os.DirFS(chartDir(t))); err != nil {
			t.Fatal(err)
		}
		if editSchema != nil {
			path := filepath.Join(parent, "charts", "taskgate", "values.schema.json")
			var schema map[string]any
			readJSON(t, path, &schema)
			editSchema(schema)
			writeJSON(t, path, schema)
		}
		for name, content := range map[string]string{
			"Chart.yaml": `apiVersion: v2
name: platform
version: 1.0.0
dependencies:
- name: taskgate
  version: ">=0.0.0-0"
  repository: file://charts/taskgate
`,
			"values.yaml": `global:
  imageRegistry: registry.example.com
  imagePullSecrets: [platform-pull]
taskgate:
  replicaCount: 3
  watchNamespaces: [team-a]
`,
		} {
			if err := os.WriteFile(filepath.Join(parent, name), []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return parent
	}

	objs := renderChart(t, parentChart(t, nil))
	dep := find(t, objs, "Deployment", fullname)
	if got := field[float64](dep, "spec", "replicas"); got != 3 {
		t.Errorf("the subchart's Deployment has %v replicas; the parent's values say 3", got)
	}
	if args := field[[]any](dep, "spec", "template", "spec", "containers", 0, "args"); !slices.Contains(args, any("--watch-namespaces=team-a")) {
		t.Errorf("the subchart's manager args %v lack --watch-namespaces=team-a", args)
	}
	if n := len(all(objs, "CustomResourceDefinition")); n != 4 {
		t.Errorf("the subchart renders %d CRDs, want 4", n)
	}

	out, err := helm(t, "template", release, parentChart(t, func(schema map[string]any) {
		delete(schema["properties"].(map[string]any), "global")
	}))
	if want := "- at '': additional properties 'global' not allowed"; err == nil || !strings.Contains(out, want) {
		t.Errorf("without global in the schema: %v\n%s\nwant %q", err, out, want)
	}
}

// TestDefaultsAsBefore compares the webhook configurations and the
// manager's pod, rendered with the defaults and with watchNamespaces, with
// what the chart rendered before their settings became values
// (testdata/*-webhooks.yaml and *-deployment.yaml, from commit 0bb2890).
func TestDefaultsAsBefore(t *testing.T) {
	for name, args := range map[string][]string{
		"defaults":        nil,
		"watchnamespaces": {"--set", "watchNamespaces={team-a,team-b}"},
	} {
		t.Run(name, func(t *testing.T) {
			objs := render(t, args...)
			before := decodeFile(t, filepath.Join("test", "chart", "testdata", name+"-webhooks.yaml"))
			for _, kind := range []string{"MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"} {
				got, want := find(t, objs, kind, fullname), find(t, before, kind, fullname)
				if !reflect.DeepEqual(got["webhooks"], want["webhooks"]) {
					t.Errorf("%s webhooks:\n%v\nbefore:\n%v", kind, got["webhooks"], want["webhooks"])
				}
				if a, b := field[map[string]any](got, "metadata", "annotations"), field[map[string]any](want, "metadata", "annotations"); !reflect.DeepEqual(a, b) {
					t.Errorf("%s annotations %v, before %v", kind, a, b)
				}
			}
			got := podSpec(t, objs, fullname)
			want := podSpec(t, decodeFile(t, filepath.Join("test", "chart", "testdata", name+"-deployment.yaml")), fullname)
			// The image follows the chart's appVersion.
			delete(field[map[string]any](got, "containers", 0), "image")
			delete(field[map[string]any](want, "containers", 0), "image")
			// --logging-format came after the recording, as the one
			// argument the defaults add.
			container := field[map[string]any](want, "containers", 0)
			container["args"] = append(container["args"].([]any), "--logging-format=text")
			// --job-admission came after too; helm template, which asks
			// no cluster, resolves jobAdmission: auto to webhook.
			args := container["args"].([]any)
			container["args"] = slices.Insert(args, 2, any("--job-admission=webhook"))
			if !reflect.DeepEqual(got, want) {
				t.Errorf("the manager's pod spec:\n%v\nbefore:\n%v", got, want)
			}
		})
	}
}
