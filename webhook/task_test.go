package webhook

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/taskgate/taskgate/api/v1alpha1"
)

func TestTaskValidateUpdate(t *testing.T) {
	resolved := func(image string) *v1alpha1.ResolvedRun {
		return &v1alpha1.ResolvedRun{Image: image, Env: []corev1.EnvVar{{Name: "RAILS_ENV", Value: "production"}}}
	}
	task := func(state v1alpha1.TaskState, desired v1alpha1.DesiredState, r *v1alpha1.ResolvedRun) *v1alpha1.Task {
		t := &v1alpha1.Task{}
		t.Name = "migrate"
		t.Spec.AppRef.Name = "shop"
		t.Spec.DesiredState, t.Spec.Resolved, t.Status.State = desired, r, state
		return t
	}
	tests := []struct {
		name     string
		old, new *v1alpha1.Task
		want     []string // the causes, "field: message", in order
	}{{
		name: "a label or TTL change leaves the spec judged alone",
		old:  task(v1alpha1.TaskStateSucceeded, v1alpha1.DesiredStateRun, resolved("shop:1")),
		new:  task(v1alpha1.TaskStateSucceeded, v1alpha1.DesiredStateRun, resolved("shop:1")),
	}, {
		name: "cancelling a running Task",
		old:  task(v1alpha1.TaskStateRunning, v1alpha1.DesiredStateRun, resolved("shop:1")),
		new:  task(v1alpha1.TaskStateRunning, v1alpha1.DesiredStateCancelled, resolved("shop:1")),
	}, {
		name: "cancelling a finished Task",
		old:  task(v1alpha1.TaskStateFailed, v1alpha1.DesiredStateRun, resolved("shop:1")),
		new:  task(v1alpha1.TaskStateFailed, v1alpha1.DesiredStateCancelled, resolved("shop:1")),
		want: []string{"spec.desiredState: Forbidden: Task state is Failed and therefore cannot be cancelled"},
	}, {
		name: "changing the resolved image",
		old:  task(v1alpha1.TaskStatePending, v1alpha1.DesiredStateRun, resolved("shop:1")),
		new:  task(v1alpha1.TaskStatePending, v1alpha1.DesiredStateRun, resolved("evil:1")),
		want: []string{"spec.resolved: Forbidden: resolved is written by taskgate at creation and is immutable; create a new Task to run with the App's current configuration"},
	}, {
		name: "cancelling a finished Task and changing resolved: both said",
		old:  task(v1alpha1.TaskStateSucceeded, v1alpha1.DesiredStateRun, resolved("shop:1")),
		new:  task(v1alpha1.TaskStateSucceeded, v1alpha1.DesiredStateCancelled, resolved("evil:1")),
		want: []string{
			"spec.desiredState: Forbidden: Task state is Succeeded and therefore cannot be cancelled",
			"spec.resolved: Forbidden: resolved is written by taskgate at creation and is immutable; create a new Task to run with the App's current configuration",
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := (&TaskValidator{}).ValidateUpdate(context.Background(), tt.old, tt.new)
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("ValidateUpdate() = %v, want allowed", err)
				}
				return
			}
			status, ok := err.(apierrors.APIStatus)
			if !ok || !apierrors.IsInvalid(err) {
				t.Fatalf("ValidateUpdate() = %v, want an Invalid API status", err)
			}
			var got []string
			for _, c := range status.Status().Details.Causes {
				got = append(got, c.Field+": "+c.Message)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("causes = %q, want %q", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("cause %d = %q, want %q", i, got[i], tt.want[i])
				}
			}
		})
	}
}
