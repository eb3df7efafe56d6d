package manager

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	taskgatev1alpha1 "github.com/taskgate/taskgate/api/v1alpha1"
)

// TestAppFacts: a cached App keeps what admission, the ID counter and cap
// policy read, and loses its managedFields and annotations.
func TestAppFacts(t *testing.T) {
	spec := taskgatev1alpha1.AppSpec{Image: "shop:v1", Args: []string{"run"}, Env: []corev1.EnvVar{{Name: "RAILS_ENV", Value: "production"}}}
	status := taskgatev1alpha1.AppStatus{LastTaskID: 7, PendingTaskIDs: []taskgatev1alpha1.TaskIDGrant{{Name: "migrate", UID: "u", ID: 7}}}
	in := &taskgatev1alpha1.App{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: "shop", Name: "web", UID: "app-uid", ResourceVersion: "42", Labels: map[string]string{"team": "a"},
			Annotations:   map[string]string{"kubectl.kubernetes.io/last-applied-configuration": `{"kind":"App"}`},
			ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubectl"}},
		},
		Spec: spec, Status: status,
	}
	want := &taskgatev1alpha1.App{
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web", UID: "app-uid", ResourceVersion: "42", Labels: map[string]string{"team": "a"}},
		Spec:       spec, Status: status,
	}
	got, err := appFacts(in)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("appFacts() (-want +got):\n%s", diff)
	}

	// Anything else passes through untouched.
	job := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "j", Annotations: map[string]string{"a": "b"}}}
	if got, err := appFacts(job); err != nil || got != job || job.Annotations["a"] != "b" {
		t.Errorf("appFacts(Job) = %v, %v; want the Job unchanged", got, err)
	}
}
