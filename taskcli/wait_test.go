package taskcli

import (
	"errors"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/taskgate/taskgate/api/v1alpha1"
)

func TestLogsUnavailable(t *testing.T) {
	podGone := apierrors.NewNotFound(schema.GroupResource{Resource: "pods"}, "shop-a-run-pod")
	other := errors.New("container \"step-main\" in pod \"shop-a-run-pod\" is waiting to start: PodInitializing")
	tests := []struct {
		name  string
		state v1alpha1.TaskState
		err   error
		want  string
	}{
		{"cancelled", v1alpha1.TaskStateCancelled, podGone, `it was cancelled, and its pod is gone with its logs: Tekton deletes the pod of a cancelled or timed-out run unless its feature flag keep-pod-on-cancel is "true" (docs/install.md, Tekton); keep logs with cluster logging`},
		{"finished, pod deleted", v1alpha1.TaskStateSucceeded, podGone, "its pod no longer exists, and its logs went with it; keep logs with cluster logging"},
		{"failed without a pod", v1alpha1.TaskStateFailed, errNoPod, "its pod no longer exists, and its logs went with it; keep logs with cluster logging"},
		{"pending", v1alpha1.TaskStatePending, errNoPod, "it has no pod yet (state Pending); add -f to wait for its logs"},
		{"other errors pass through", v1alpha1.TaskStateRunning, other, other.Error()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := logsUnavailable(task("shop-a", 1, tt.state), tt.err)
			if got.Error() != tt.want {
				t.Errorf("logsUnavailable = %q, want %q", got, tt.want)
			}
		})
	}
}
