package webhook

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/taskgate/taskgate/api/v1alpha1"
	"github.com/taskgate/taskgate/policy"
)

// TestJobDefaulterTTLByAdmissionPolicies checks that, while kube-apiserver's
// admission policies give Jobs their TTL, the webhook, called then only
// for Jobs labelled with an App, injects the App and nothing else: no
// TTL, no decision annotation and no decision counted a second time.
func TestJobDefaulterTTLByAdmissionPolicies(t *testing.T) {
	pol, apps, namespaces := benchDeps(t)
	job := &batchv1.Job{
		TypeMeta:   metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"},
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "nightly", Labels: map[string]string{v1alpha1.LabelApp: "web"}},
		Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
			RestartPolicy: corev1.RestartPolicyNever,
			Containers:    []corev1.Container{{Name: "main", Image: "registry.example.com/shop/web:v1"}},
		}}},
	}
	raw, err := json.Marshal(job)
	if err != nil {
		t.Fatal(err)
	}
	for _, byPolicies := range []bool{false, true} {
		decided := 0
		h := &JobDefaulter{Policy: pol, Apps: apps, Namespaces: namespaces, TTLByAdmissionPolicies: byPolicies,
			Decided: func(policy.ObjectKind, string, policy.Outcome) { decided++ }}
		resp := h.Handle(context.Background(), createReview("Job", raw))
		if !resp.Allowed {
			t.Fatalf("TTLByAdmissionPolicies %v: refused: %v", byPolicies, resp.Result)
		}
		var ttl, env bool
		for _, op := range resp.Patches {
			ttl = ttl || op.Path == "/spec/ttlSecondsAfterFinished" || strings.HasPrefix(op.Path, "/metadata/annotations")
			env = env || strings.HasPrefix(op.Path, "/spec/template/spec/containers/0/env")
		}
		if ttl == byPolicies || !env || (decided == 1) == byPolicies {
			t.Errorf("TTLByAdmissionPolicies %v: TTL patched %v, App injected %v, decisions counted %d; want TTL %v, injected, counted %v",
				byPolicies, ttl, env, decided, !byPolicies, !byPolicies)
		}
	}
}
