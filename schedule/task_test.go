package schedule

import (
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/taskgate/taskgate/api/v1alpha1"
)

func TestTaskName(t *testing.T) {
	if got, want := TaskName("nightly", utc("2026-12-07T03:00:59Z")), "nightly-29943540"; got != want {
		t.Errorf("TaskName() = %q, want %q", got, want)
	}
}

func TestNewTask(t *testing.T) {
	ts := &v1alpha1.TaskSchedule{
		ObjectMeta: metav1.ObjectMeta{Name: "nightly", Namespace: "shop", UID: "u1"},
		Spec: v1alpha1.TaskScheduleSpec{
			AppRef: v1alpha1.AppReference{Name: "web"},
			Template: v1alpha1.TaskTemplate{
				Metadata: v1alpha1.TaskTemplateMetadata{Labels: map[string]string{"team": "a"}, Annotations: map[string]string{"note": "x"}},
				Spec: v1alpha1.TaskTemplateSpec{
					DisplayName: "report", Command: "make report", CPU: ptr.To(resource.MustParse("500m")),
					Env: []corev1.EnvVar{{Name: "A", Value: "1"}}, Timeout: &metav1.Duration{Duration: 600e9}, Retries: ptr.To[int32](2),
				},
			},
		},
	}
	got := NewTask(ts, "nightly-1")
	want := &v1alpha1.Task{
		TypeMeta: metav1.TypeMeta{APIVersion: "taskgate.dev/v1alpha1", Kind: "Task"},
		ObjectMeta: metav1.ObjectMeta{
			Name: "nightly-1", Namespace: "shop",
			Labels:      map[string]string{"team": "a", "taskgate.dev/schedule": "nightly"},
			Annotations: map[string]string{"note": "x"},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "taskgate.dev/v1alpha1", Kind: "TaskSchedule", Name: "nightly", UID: "u1",
				Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(false)}},
		},
		Spec: v1alpha1.TaskSpec{
			AppRef: v1alpha1.AppReference{Name: "web"}, DisplayName: "report", Command: "make report", CPU: ptr.To(resource.MustParse("500m")),
			Env: []corev1.EnvVar{{Name: "A", Value: "1"}}, Timeout: &metav1.Duration{Duration: 600e9}, Retries: ptr.To[int32](2),
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("NewTask() =\n%+v, want\n%+v", got, want)
	}
	// The Task shares nothing with the schedule the cache holds.
	got.Labels["team"], got.Spec.Env[0].Value = "b", "2"
	if ts.Spec.Template.Metadata.Labels["team"] != "a" || ts.Spec.Template.Spec.Env[0].Value != "1" {
		t.Errorf("NewTask() shares its maps or slices with the schedule")
	}
}

func TestRunNowTask(t *testing.T) {
	ts := &v1alpha1.TaskSchedule{ObjectMeta: metav1.ObjectMeta{Name: "nightly", Namespace: "shop", UID: "u1"}}
	ts.Spec.AppRef.Name = "web"
	got := RunNowTask(ts)
	want := NewTask(ts, "")
	want.GenerateName = "nightly-manual-"
	if !reflect.DeepEqual(got, want) || got.Name != "" {
		t.Errorf("RunNowTask() =\n%+v, want\n%+v", got, want)
	}
}

func TestOnlySuspends(t *testing.T) {
	base := v1alpha1.TaskScheduleSpec{AppRef: v1alpha1.AppReference{Name: "web"}, Schedule: "0 3 * * *"}
	with := func(edit func(*v1alpha1.TaskScheduleSpec)) *v1alpha1.TaskScheduleSpec {
		s := base.DeepCopy()
		edit(s)
		return s
	}
	suspend := func(b bool) func(*v1alpha1.TaskScheduleSpec) {
		return func(s *v1alpha1.TaskScheduleSpec) { s.Suspend = &b }
	}
	for _, tt := range []struct {
		name      string
		old, spec *v1alpha1.TaskScheduleSpec
		want      bool
	}{
		{"suspending", &base, with(suspend(true)), true},
		{"suspending one that said false", with(suspend(false)), with(suspend(true)), true},
		{"already suspended, nothing else changed", with(suspend(true)), with(suspend(true)), true},
		{"resuming", with(suspend(true)), with(suspend(false)), false},
		{"resuming by removing suspend", with(suspend(true)), &base, false},
		{"suspending and changing the command", &base, with(func(s *v1alpha1.TaskScheduleSpec) {
			s.Suspend = new(true)
			s.Template.Spec.Command = "rm -rf /data"
		}), false},
		{"suspending and changing the schedule", &base, with(func(s *v1alpha1.TaskScheduleSpec) {
			s.Suspend = new(true)
			s.Schedule = "* * * * *"
		}), false},
		{"no change, not suspended", &base, &base, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := OnlySuspends(tt.old, tt.spec); got != tt.want {
				t.Errorf("OnlySuspends() = %v, want %v", got, tt.want)
			}
		})
	}
}
