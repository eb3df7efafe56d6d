package webhook

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"gomodules.xyz/jsonpatch/v2"
	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestUndecidedPatch(t *testing.T) {
	tests := []struct {
		name   string
		labels map[string]string
		want   []jsonpatch.JsonPatchOperation
	}{{
		name: "no labels",
	}, {
		name:   "other labels",
		labels: map[string]string{"team": "a"},
	}, {
		name:   "copied from a decided Job",
		labels: map[string]string{"team": "a", "taskgate.dev/completion-decided": "true"},
		want:   []jsonpatch.JsonPatchOperation{{Operation: "remove", Path: "/metadata/labels/taskgate.dev~1completion-decided"}},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			job := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Labels: tt.labels}}
			if diff := cmp.Diff(tt.want, undecidedPatch(job)); diff != "" {
				t.Fatalf("patch (-want +got):\n%s", diff)
			}
		})
	}
}
