package patch

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"gomodules.xyz/jsonpatch/v2"
)

func TestAddToMap(t *testing.T) {
	add := map[string]string{"taskgate.dev/app": "shop", "a~b": "x"}
	tests := []struct {
		name   string
		exists bool
		want   []jsonpatch.JsonPatchOperation
	}{{
		name: "missing map is added whole",
		want: []jsonpatch.JsonPatchOperation{{Operation: "add", Path: "/metadata/labels", Value: add}},
	}, {
		name:   "existing map gets one escaped key at a time, sorted",
		exists: true,
		want: []jsonpatch.JsonPatchOperation{
			{Operation: "add", Path: "/metadata/labels/a~0b", Value: "x"},
			{Operation: "add", Path: "/metadata/labels/taskgate.dev~1app", Value: "shop"},
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, AddToMap(tt.exists, "/metadata/labels", add)); diff != "" {
				t.Fatalf("ops (-want +got):\n%s", diff)
			}
		})
	}
	if ops := AddToMap(true, "/x", map[string]string{}); ops != nil {
		t.Fatalf("no entries gave %v, want no operations", ops)
	}
}
