package taskcli

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/taskgate/taskgate/api/v1alpha1"
)

func TestSortTasks(t *testing.T) {
	withApp := func(tk *v1alpha1.Task, app string) v1alpha1.Task {
		tk.Spec.AppRef.Name = app
		return *tk
	}
	tasks := []v1alpha1.Task{
		withApp(task("web-x", 0, ""), "web"),
		withApp(task("shop-new", 0, ""), "shop"),
		withApp(task("shop-ten", 10, ""), "shop"),
		withApp(task("shop-two", 2, ""), "shop"),
		withApp(task("shop-b", 1, ""), "shop"),
		withApp(task("shop-a", 1, ""), "shop"), // equal IDs cannot happen, but sort stably by name
		withApp(task("web-1", 1, ""), "web"),
		withApp(task("shop-aaa", 0, ""), "shop"),
	}
	SortTasks(tasks)
	var got []string
	for _, tk := range tasks {
		got = append(got, tk.Name)
	}
	want := []string{"shop-a", "shop-b", "shop-two", "shop-ten", "shop-aaa", "shop-new", "web-1", "web-x"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("SortTasks order (-want +got):\n%s", diff)
	}
}

func TestKeyOfObject(t *testing.T) {
	tests := []struct {
		name string
		obj  map[string]any
		want taskKey
	}{
		{"assigned", map[string]any{
			"metadata": map[string]any{"namespace": "team-a", "name": "shop-x"},
			"spec":     map[string]any{"appRef": map[string]any{"name": "shop"}},
			"status":   map[string]any{"id": int64(7)},
		}, taskKey{namespace: "team-a", app: "shop", id: 7, name: "shop-x"}},
		{"no status yet: unassigned", map[string]any{
			"metadata": map[string]any{"namespace": "team-a", "name": "shop-y"},
			"spec":     map[string]any{"appRef": map[string]any{"name": "shop"}},
		}, taskKey{namespace: "team-a", app: "shop", name: "shop-y"}},
		{"an ID of another type counts as unassigned", map[string]any{
			"metadata": map[string]any{"name": "odd"},
			"status":   map[string]any{"id": "7"},
		}, taskKey{name: "odd"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := keyOfObject(&unstructured.Unstructured{Object: tt.obj}); got != tt.want {
				t.Errorf("keyOfObject = %+v, want %+v", got, tt.want)
			}
		})
	}
	if got := keyOfObject(nil); got != (taskKey{}) {
		t.Errorf("keyOfObject(nil) = %+v, want the zero key", got)
	}
}

// TestSortRowsAndItems shows that a Table's rows and a list's items sort
// as SortTasks sorts Tasks.
func TestSortRowsAndItems(t *testing.T) {
	obj := func(ns, app, name string, id int64) *unstructured.Unstructured {
		u := &unstructured.Unstructured{Object: map[string]any{}}
		u.SetNamespace(ns)
		u.SetName(name)
		_ = unstructured.SetNestedField(u.Object, app, "spec", "appRef", "name")
		if id != 0 {
			_ = unstructured.SetNestedField(u.Object, id, "status", "id")
		}
		return u
	}
	objs := []*unstructured.Unstructured{
		obj("b", "shop", "b-shop-1", 1),
		obj("a", "web", "a-web-1", 1),
		obj("a", "shop", "a-shop-new", 0),
		obj("a", "shop", "a-shop-10", 10),
		obj("a", "shop", "a-shop-9", 9),
	}
	want := []string{"a-shop-9", "a-shop-10", "a-shop-new", "a-web-1", "b-shop-1"}

	var rows []metav1.TableRow
	var items []unstructured.Unstructured
	for _, o := range objs {
		rows = append(rows, metav1.TableRow{Cells: []any{o.GetName()}, Object: runtime.RawExtension{Object: o}})
		items = append(items, *o)
	}
	sortRows(rows)
	sortItems(items)
	var gotRows, gotItems []string
	for i := range rows {
		gotRows = append(gotRows, rows[i].Cells[0].(string))
		gotItems = append(gotItems, items[i].GetName())
	}
	if diff := cmp.Diff(want, gotRows); diff != "" {
		t.Errorf("sortRows order (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want, gotItems); diff != "" {
		t.Errorf("sortItems order (-want +got):\n%s", diff)
	}
}

// Both orders are one: keyOf and keyOfObject read the same fields.
func TestKeyOfMatchesKeyOfObject(t *testing.T) {
	tk := task("shop-x", 4, v1alpha1.TaskStateRunning)
	tk.Namespace = "team-a"
	u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(tk)
	if err != nil {
		t.Fatal(err)
	}
	if a, b := keyOf(tk), keyOfObject(&unstructured.Unstructured{Object: u}); a != b {
		t.Errorf("keyOf = %+v, keyOfObject = %+v; want them equal", a, b)
	}
}
