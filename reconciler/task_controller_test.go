package reconciler

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/taskgate/taskgate/api/v1alpha1"
)

func TestRanIn(t *testing.T) {
	started := metav1.NewTime(time.Date(2026, 12, 7, 18, 2, 11, 0, time.FixedZone("CET", 3600)))
	tests := []struct {
		name   string
		status v1alpha1.TaskStatus
		want   string
	}{
		{name: "never had a pod", status: v1alpha1.TaskStatus{}, want: ""},
		{name: "a pod, never started", status: v1alpha1.TaskStatus{PodName: "migrate-run-pod"}, want: "pod migrate-run-pod"},
		{name: "ran", status: v1alpha1.TaskStatus{PodName: "migrate-run-pod", StartTime: &started},
			want: "pod migrate-run-pod, started 2026-12-07T17:02:11Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ranIn(tt.status); got != tt.want {
				t.Errorf("ranIn = %q, want %q", got, tt.want)
			}
		})
	}
	if got := parenthesized(""); got != "" {
		t.Errorf("parenthesized(\"\") = %q, want \"\"", got)
	}
	if got := parenthesized("pod p"); got != " (pod p)" {
		t.Errorf("parenthesized = %q, want \" (pod p)\"", got)
	}
}
