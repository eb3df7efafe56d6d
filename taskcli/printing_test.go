package taskcli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apiextensions-apiserver/pkg/registry/customresource/tableconvertor"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/kubectl/pkg/cmd/get"
	"sigs.k8s.io/yaml"

	"github.com/taskgate/taskgate/api/v1alpha1"
)

// printedTasks are Tasks in the order the API server lists them, by
// namespace and name, which is not cf tasks' order by ID.
func printedTasks(t *testing.T) []unstructured.Unstructured {
	t.Helper()
	// The server computes ages from the real clock.
	created := metav1.NewTime(time.Now().Add(-3 * time.Hour))
	started := metav1.NewTime(time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC))

	pending := task("shop-aaaaa", 0, "")
	failed := task("shop-bbbbb", 10, v1alpha1.TaskStateFailed)
	failed.Spec.DisplayName = "nightly"
	failed.Spec.Command = "rake db:migrate"
	failed.Status.StartTime = &started
	failed.Status.Duration = &metav1.Duration{Duration: 95 * time.Second}
	failed.Status.ExitCode = new(int32(3))
	failed.Status.PodName = "shop-bbbbb-pod"
	failed.Status.FailureReason = "Exited with status 3"
	// Its App's start command, which only get shows.
	running := task("shop-ccccc", 2, v1alpha1.TaskStateRunning)
	running.Status.StartTime = &started
	running.Status.PodName = "shop-ccccc-pod"
	web := task("web-ddddd", 1, v1alpha1.TaskStateSucceeded)
	web.Spec.AppRef.Name = "web"
	web.Spec.Command = "true"
	web.Status.ExitCode = new(int32(0))

	var items []unstructured.Unstructured
	for _, tk := range []*v1alpha1.Task{pending, failed, running, web} {
		tk.Namespace = "team-a"
		tk.CreationTimestamp = created
		tk.SetGroupVersionKind(v1alpha1.GroupVersion.WithKind("Task"))
		u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(tk)
		if err != nil {
			t.Fatal(err)
		}
		items = append(items, unstructured.Unstructured{Object: u})
	}
	return items
}

// serverTable is the Table that the API server sends for items with
// includeObject=Object, as cli-runtime's Builder decodes it: computed by
// the apiextensions-apiserver's own convertor from the generated CRD's
// printer columns.
func serverTable(t *testing.T, items []unstructured.Unstructured) runtime.Object {
	t.Helper()
	b, err := os.ReadFile("../charts/taskgate/files/crds/taskgate.dev_tasks.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var crd apiextensionsv1.CustomResourceDefinition
	if err := yaml.UnmarshalStrict(b, &crd); err != nil {
		t.Fatal(err)
	}
	convertor, err := tableconvertor.New(crd.Spec.Versions[0].AdditionalPrinterColumns)
	if err != nil {
		t.Fatal(err)
	}
	table, err := convertor.ConvertToTable(context.Background(), &unstructured.UnstructuredList{Items: items}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range table.Rows {
		table.Rows[i].Object = runtime.RawExtension{Object: &items[i]}
	}
	table.SetGroupVersionKind(metav1.SchemeGroupVersion.WithKind("Table"))
	wire, err := json.Marshal(table)
	if err != nil {
		t.Fatal(err)
	}
	obj, err := runtime.Decode(unstructured.UnstructuredJSONScheme, wire)
	if err != nil {
		t.Fatal(err)
	}
	return obj
}

func TestTaskPrinter(t *testing.T) {
	type flags struct {
		output, sortBy string
		noHeaders      bool
	}
	tests := []struct {
		name          string
		flags         flags
		allNamespaces bool
		want          string
	}{{
		// kubectl prints a cell that the object has no value for empty.
		name: "the server's columns, by App and ID, unassigned last",
		want: "" +
			"NAME         ID    APP    DISPLAY NAME   STATE       STARTED                DURATION   AGE   COMMAND\n" +
			"shop-ccccc   2     shop                  Running     2026-11-23T09:00:00Z              3h    \n" +
			"shop-bbbbb   10    shop   nightly        Failed      2026-11-23T09:00:00Z   1m35s      3h    rake db:migrate\n" +
			"shop-aaaaa         shop                                                                3h    \n" +
			"web-ddddd    1     web                   Succeeded                                     3h    true\n",
	}, {
		name:  "wide",
		flags: flags{output: "wide"},
		want: "" +
			"NAME         ID    APP    DISPLAY NAME   STATE       STARTED                DURATION   AGE   EXIT CODE   POD              REASON                 COMMAND\n" +
			"shop-ccccc   2     shop                  Running     2026-11-23T09:00:00Z              3h                shop-ccccc-pod                          \n" +
			"shop-bbbbb   10    shop   nightly        Failed      2026-11-23T09:00:00Z   1m35s      3h    3           shop-bbbbb-pod   Exited with status 3   rake db:migrate\n" +
			"shop-aaaaa         shop                                                                3h                                                        \n" +
			"web-ddddd    1     web                   Succeeded                                     3h    0                                                   true\n",
	}, {
		name:          "every namespace, without headers",
		flags:         flags{noHeaders: true},
		allNamespaces: true,
		want: "" +
			"team-a   shop-ccccc   2     shop             Running     2026-11-23T09:00:00Z           3h    \n" +
			"team-a   shop-bbbbb   10    shop   nightly   Failed      2026-11-23T09:00:00Z   1m35s   3h    rake db:migrate\n" +
			"team-a   shop-aaaaa         shop                                                        3h    \n" +
			"team-a   web-ddddd    1     web              Succeeded                                  3h    true\n",
	}, {
		// kubectl's sorter puts a missing field first, and does not fail.
		name:  "--sort-by an ID that one Task lacks",
		flags: flags{sortBy: ".status.id", noHeaders: true},
		want: "" +
			"shop-aaaaa         shop                                                        3h    \n" +
			"web-ddddd    1     web              Succeeded                                  3h    true\n" +
			"shop-ccccc   2     shop             Running     2026-11-23T09:00:00Z           3h    \n" +
			"shop-bbbbb   10    shop   nightly   Failed      2026-11-23T09:00:00Z   1m35s   3h    rake db:migrate\n",
	}, {
		name:  "--sort-by in braces",
		flags: flags{sortBy: "{.metadata.name}", output: "name"},
		want:  "task.taskgate.dev/shop-aaaaa\ntask.taskgate.dev/shop-bbbbb\ntask.taskgate.dev/shop-ccccc\ntask.taskgate.dev/web-ddddd\n",
	}, {
		name:  "custom-columns, by ID",
		flags: flags{output: "custom-columns=APP:.spec.appRef.name,ID:.status.id,EXIT:.status.exitCode"},
		want: "" +
			"APP    ID       EXIT\n" +
			"shop   2        <none>\n" +
			"shop   10       3\n" +
			"shop   <none>   <none>\n" +
			"web    1        0\n",
	}, {
		name:  "custom-columns sorted, without headers",
		flags: flags{output: "custom-columns=NAME:.metadata.name,STATE:.status.state", sortBy: ".status.state", noHeaders: true},
		want:  "shop-aaaaa   <none>\nshop-bbbbb   Failed\nshop-ccccc   Running\nweb-ddddd    Succeeded\n",
	}, {
		name:  "jsonpath",
		flags: flags{output: `jsonpath={range .items[*]}{.status.id},{end}`},
		want:  "2,10,,1,",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := get.NewGetPrintFlags()
			*f.OutputFormat, *f.HumanReadableFlags.SortBy, *f.NoHeaders = tt.flags.output, tt.flags.sortBy, tt.flags.noHeaders
			p, err := taskPrinter(f, tt.allNamespaces)
			if err != nil {
				t.Fatal(err)
			}
			items := printedTasks(t)
			var obj runtime.Object = &unstructured.UnstructuredList{
				Object: map[string]any{"apiVersion": "taskgate.dev/v1alpha1", "kind": "TaskList", "metadata": map[string]any{}},
				Items:  items,
			}
			if tablePrinting(f) {
				obj = serverTable(t, items)
			}
			var buf bytes.Buffer
			if err := p.PrintObj(obj, &buf); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, buf.String()); diff != "" {
				t.Errorf("printed (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTaskPrinterErrors(t *testing.T) {
	tests := []struct {
		name, output, sortBy string
		showLabels           bool
		labelColumns         []string
		// atPrint: the error comes when printing, as only the objects can
		// tell; else taskPrinter refuses the flags.
		atPrint bool
		want    string
	}{
		{name: "unknown format", output: "table",
			want: `unable to match a printer suitable for the output format "table", allowed formats are: custom-columns,custom-columns-file,go-template,go-template-file,json,jsonpath,jsonpath-as-json,jsonpath-file,kyaml,name,template,templatefile,wide,yaml`},
		{name: "--show-labels with json", output: "json", showLabels: true,
			want: `--show-labels option cannot be used with json printer`},
		{name: "-L with custom-columns", output: "custom-columns=ID:.status.id", labelColumns: []string{"team"},
			want: `--label-columns option cannot be used with custom-columns=ID:.status.id printer`},
		{name: "--sort-by not JSONPath", sortBy: "{.status.id",
			want: `--sort-by "{.status.id" is not a JSONPath expression such as .status.id or .metadata.creationTimestamp: unexpected path string, expected a 'name1.name2' or '.name1.name2' or '{name1.name2}' or '{.name1.name2}'`},
		{name: "--sort-by a field no Task has, in the table", sortBy: ".status.nope", atPrint: true,
			want: `--sort-by {.status.nope}: couldn't find any field with path "{.status.nope}" in the list of objects`},
		{name: "--sort-by a field no Task has, in a list", output: "name", sortBy: ".status.nope", atPrint: true,
			want: `--sort-by {.status.nope}: couldn't find any field with path "{.status.nope}" in the list of objects`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := get.NewGetPrintFlags()
			*f.OutputFormat, *f.HumanReadableFlags.SortBy = tt.output, tt.sortBy
			*f.HumanReadableFlags.ShowLabels, *f.HumanReadableFlags.ColumnLabels = tt.showLabels, tt.labelColumns
			p, err := taskPrinter(f, false)
			if !tt.atPrint {
				if err == nil || err.Error() != tt.want {
					t.Fatalf("taskPrinter: %v, want %q", err, tt.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			items := printedTasks(t)
			var obj runtime.Object = &unstructured.UnstructuredList{Object: map[string]any{"apiVersion": "taskgate.dev/v1alpha1", "kind": "TaskList"}, Items: items}
			if tablePrinting(f) {
				obj = serverTable(t, items)
			}
			var buf bytes.Buffer
			if err := p.PrintObj(obj, &buf); err == nil || err.Error() != tt.want || buf.Len() != 0 {
				t.Fatalf("PrintObj: %v, printed %q; want %q and nothing printed", err, buf.String(), tt.want)
			}
		})
	}
}

func TestTablePrinting(t *testing.T) {
	tests := []struct {
		output, template string
		want             bool
	}{
		{"", "", true},
		{"wide", "", true},
		{"", "{{.metadata.name}}", false}, // --template alone means go-template
		{"custom-columns=ID:.status.id", "", false},
		{"json", "", false},
		{"name", "", false},
	}
	for _, tt := range tests {
		f := get.NewGetPrintFlags()
		*f.OutputFormat, *f.TemplateFlags.TemplateArgument = tt.output, tt.template
		if got := tablePrinting(f); got != tt.want {
			t.Errorf("tablePrinting(-o %q, --template %q) = %t, want %t", tt.output, tt.template, got, tt.want)
		}
	}
}

func TestCountTasks(t *testing.T) {
	items := printedTasks(t)
	tests := []struct {
		name string
		obj  runtime.Object
		want int
	}{
		{"a Table", serverTable(t, items), 4},
		{"an empty Table", serverTable(t, nil), 0},
		{"a list", &unstructured.UnstructuredList{Items: items}, 4},
		{"an empty list", &unstructured.UnstructuredList{}, 0},
		{"one Task", &items[0], 1},
	}
	for _, tt := range tests {
		if got := countTasks(tt.obj); got != tt.want {
			t.Errorf("countTasks(%s) = %d, want %d", tt.name, got, tt.want)
		}
	}
}
