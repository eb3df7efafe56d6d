package e2e

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestAppInANamespaceJustCreated creates namespaces and, at once, an App
// and a Task in each, as `kubectl apply -f` of a file holding all three
// does: the webhooks read the namespace live when the manager's cache has
// not seen it yet, so none is refused for it. (The bench met the refusal
// "namespace ... not found" once in 6000 creates before this.)
func TestAppInANamespaceJustCreated(t *testing.T) {
	c := newClient(t)
	for range 20 {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "e2e-fresh-"}}
		if err := c.Create(context.Background(), ns); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Delete(context.Background(), ns) })
		app := newApp(t, c, ns.Name, "web")
		newTask(t, c, app, "migrate", nil)
	}
}
