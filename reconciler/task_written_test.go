package reconciler

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/taskgate/taskgate/api/v1alpha1"
)

func TestWrittenTasksBehind(t *testing.T) {
	wrote := time.Date(2026, 11, 26, 7, 0, 0, 0, time.UTC)
	task := func(uid types.UID, rv string, state v1alpha1.TaskState) *v1alpha1.Task {
		return &v1alpha1.Task{
			ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "migrate", UID: uid, ResourceVersion: rv},
			Status:     v1alpha1.TaskStatus{ID: 3, State: state, PipelineRunName: "migrate"},
		}
	}
	written := task("uid-1", "12", v1alpha1.TaskStateRunning)
	tests := []struct {
		name   string
		record bool
		cached *v1alpha1.Task
		after  time.Duration
		want   time.Duration
		kept   bool
	}{
		{name: "nothing written", cached: task("uid-1", "10", v1alpha1.TaskStatePending)},
		{name: "the cache shows the write", record: true, cached: task("uid-1", "12", v1alpha1.TaskStateRunning)},
		{name: "the cache is a write behind", record: true, cached: task("uid-1", "10", v1alpha1.TaskStatePending), after: time.Second, want: 4 * time.Second, kept: true},
		{name: "a later write kept the status", record: true, cached: task("uid-1", "13", v1alpha1.TaskStateRunning), after: time.Second},
		{name: "behind past the bound", record: true, cached: task("uid-1", "10", v1alpha1.TaskStatePending), after: maxCacheLag},
		{name: "another Task of the same name", record: true, cached: task("uid-2", "20", v1alpha1.TaskStatePending), after: time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var w writtenTasks
			if tt.record {
				w.wrote(written.DeepCopy(), wrote)
			}
			if got := w.behind(tt.cached, wrote.Add(tt.after)); got != tt.want {
				t.Errorf("behind() = %s, want %s", got, tt.want)
			}
			if _, kept := w.written[types.NamespacedName{Namespace: "shop", Name: "migrate"}]; kept != tt.kept {
				t.Errorf("record kept = %t, want %t", kept, tt.kept)
			}
			if tt.record && !tt.kept && w.written != nil {
				t.Errorf("the map outlived its last record: %v", w.written)
			}
		})
	}
}

func TestWrittenTasksForget(t *testing.T) {
	var w writtenTasks
	gone := &v1alpha1.Task{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "migrate", UID: "uid-1", ResourceVersion: "12"}}
	w.wrote(gone, time.Now())
	w.forget(types.NamespacedName{Namespace: "shop", Name: "migrate"})
	if len(w.written) != 0 {
		t.Fatalf("records after forget: %v", w.written)
	}
}
