package access

import (
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/taskgate/taskgate/api/v1alpha1"
)

func TestTaskScheduleNeeds(t *testing.T) {
	ts := &v1alpha1.TaskSchedule{ObjectMeta: metav1.ObjectMeta{Name: "nightly", Namespace: "shop"}}
	app := &v1alpha1.App{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop"}}
	app.Spec.Env = []corev1.EnvVar{{Name: "GIVEN", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
		LocalObjectReference: corev1.LocalObjectReference{Name: "app-creds"}, Key: "k"}}}}
	task := &v1alpha1.Task{ObjectMeta: metav1.ObjectMeta{Namespace: "shop"}}
	task.Spec.Env = []corev1.EnvVar{
		{Name: "A", Value: "1"},
		{Name: "GIVEN", ValueFrom: app.Spec.Env[0].ValueFrom},
		{Name: "OTHER", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: "db"}, Key: "password"}}},
	}
	got := TaskScheduleNeeds(ts, task, app)
	want := []Need{{
		Field: field.NewPath("spec", "template"), Group: "taskgate.dev", Verb: "create", Resource: "tasks", Namespace: "shop",
		Why: whySchedule, Fix: fixSchedule,
	}, {
		Field: field.NewPath("spec", "template", "spec", "env").Index(2).Child("valueFrom", "secretKeyRef", "name"),
		Verb:  "get", Resource: "secrets", Namespace: "shop", Name: "db", Why: whyEnv, Fix: fixEnv,
	}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("TaskScheduleNeeds() =\n%+v, want\n%+v", got, want)
	}
	if got, want := got[0].Permission(), `create tasks.taskgate.dev in namespace "shop"`; got != want {
		t.Errorf("Permission() = %q, want %q", got, want)
	}
}
