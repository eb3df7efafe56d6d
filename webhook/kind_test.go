package webhook

import (
	"context"
	"net/http"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
)

func TestHandlersDenyOtherKinds(t *testing.T) {
	pol, apps, namespaces := fuzzDeps(t)
	pod := metav1.GroupVersionKind{Version: "v1", Kind: "Pod"}
	tests := []struct {
		name    string
		handler admission.Handler
		kind    metav1.GroupVersionKind
		want    string
	}{
		{"a Pod sent to the Job webhook", &JobDefaulter{Policy: pol, Namespaces: namespaces, Apps: apps}, pod,
			"this webhook admits batch/v1 Job, not v1 Pod; check the rules of taskgate's webhook configuration"},
		{"a Job sent to the Task webhook", &TaskDefaulter{Policy: pol, Apps: apps}, jobKind,
			"this webhook admits taskgate.dev/v1alpha1 Task, not batch/v1 Job; check the rules of taskgate's webhook configuration"},
		{"a Task of another version", &TaskDefaulter{Policy: pol, Apps: apps}, metav1.GroupVersionKind{Group: "taskgate.dev", Version: "v1", Kind: "Task"},
			"this webhook admits taskgate.dev/v1alpha1 Task, not taskgate.dev/v1 Task; check the rules of taskgate's webhook configuration"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := createReview("Job", []byte(`{"apiVersion":"batch/v1","kind":"Job","metadata":{"name":"j"}}`))
			req.Kind = tt.kind
			resp := tt.handler.Handle(context.Background(), req)
			if resp.Allowed || resp.Result == nil || resp.Result.Code != http.StatusBadRequest || resp.Result.Message != tt.want {
				t.Fatalf("Handle() = allowed %t, result %+v; want a 400 denial %q", resp.Allowed, resp.Result, tt.want)
			}
		})
	}
}
