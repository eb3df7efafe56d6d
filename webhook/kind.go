package webhook

import (
	"fmt"
	"net/http"

	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
)

var (
	jobKind  = metav1.GroupVersionKind{Group: "batch", Version: "v1", Kind: "Job"}
	taskKind = metav1.GroupVersionKind{Group: "taskgate.dev", Version: "v1alpha1", Kind: "Task"}
)

// notCreateOf answers a review a mutating webhook has nothing to do with:
// any operation but CREATE is allowed unchanged, since mutators skip
// DELETE and never rewrite what exists, and a review of another kind than
// want is refused (wrongKind).
func notCreateOf(req admission.Request, want metav1.GroupVersionKind) (admission.Response, bool) {
	if req.Operation != admissionv1.Create {
		return admission.Allowed(""), true
	}
	return wrongKind(req, want)
}

// wrongKind answers a review of another kind than want, which only a
// webhook configuration whose rules match too much sends: decoding one
// kind as another would patch fields the object does not have.
func wrongKind(req admission.Request, want metav1.GroupVersionKind) (admission.Response, bool) {
	if req.Kind == want {
		return admission.Response{}, false
	}
	return admission.Errored(http.StatusBadRequest, fmt.Errorf(
		"this webhook admits %s, not %s; check the rules of taskgate's webhook configuration", gvkString(want), gvkString(req.Kind))), true
}

func gvkString(k metav1.GroupVersionKind) string {
	return fmt.Sprintf("%s %s", metav1.GroupVersion{Group: k.Group, Version: k.Version}, k.Kind)
}
