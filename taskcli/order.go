package taskcli

import (
	"cmp"
	"slices"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/taskgate/taskgate/api/v1alpha1"
)

// taskKey is what orders Tasks as cf tasks lists them: by namespace, App,
// then ID, then name. id is 0 while taskgate has not assigned one.
type taskKey struct {
	namespace, app string
	id             int64
	name           string
}

// compareTasks orders a before b by namespace, App, ID and name. Tasks
// still waiting for an ID are the newest, so they come after every
// assigned ID.
func compareTasks(a, b taskKey) int {
	return cmp.Or(
		cmp.Compare(a.namespace, b.namespace),
		cmp.Compare(a.app, b.app),
		cmp.Compare(sortID(a.id), sortID(b.id)),
		cmp.Compare(a.name, b.name),
	)
}

// sortID puts an unassigned ID (0) after every assigned one.
func sortID(id int64) uint64 {
	return uint64(id - 1)
}

func keyOf(t *v1alpha1.Task) taskKey {
	return taskKey{namespace: t.Namespace, app: t.Spec.AppRef.Name, id: t.Status.ID, name: t.Name}
}

// keyOfObject reads the key of a Task as the Builder decodes it. A field
// that is missing or of another type counts as empty, so that no object
// fails the sort: an absent status.id is 0, unassigned.
func keyOfObject(u *unstructured.Unstructured) taskKey {
	if u == nil {
		return taskKey{}
	}
	app, _, _ := unstructured.NestedString(u.Object, "spec", "appRef", "name")
	id, _, _ := unstructured.NestedInt64(u.Object, "status", "id")
	return taskKey{namespace: u.GetNamespace(), app: app, id: id, name: u.GetName()}
}

// SortTasks orders Tasks as cf tasks lists them (compareTasks).
func SortTasks(tasks []v1alpha1.Task) {
	slices.SortStableFunc(tasks, func(a, b v1alpha1.Task) int { return compareTasks(keyOf(&a), keyOf(&b)) })
}

// sortItems orders the Tasks of an unstructured list as SortTasks does.
func sortItems(items []unstructured.Unstructured) {
	slices.SortStableFunc(items, func(a, b unstructured.Unstructured) int { return compareTasks(keyOfObject(&a), keyOfObject(&b)) })
}

// sortRows orders a Table's rows by the Tasks they carry, as SortTasks
// does; readTasks asks the server for each row's object.
func sortRows(rows []metav1.TableRow) {
	key := func(r metav1.TableRow) taskKey {
		u, _ := r.Object.Object.(*unstructured.Unstructured)
		return keyOfObject(u)
	}
	slices.SortStableFunc(rows, func(a, b metav1.TableRow) int { return compareTasks(key(a), key(b)) })
}
