package webhook

import (
	"context"
	"encoding/json"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/taskgate/taskgate/api/v1alpha1"
	"github.com/taskgate/taskgate/facts"
	"github.com/taskgate/taskgate/policy"
)

// The handlers' own cost per AdmissionReview, without the apiserver round
// trip: `make bench` reports ns/op and allocs/op. Target: 100 µs.

const benchPolicy = `apiVersion: taskgate.dev/v1alpha1
kind: Policy
tasks:
  securityGroups: [{name: shop, groups: [postgres-egress], namespaces: [shop]}]
ttl:
  rules:
  - {name: failed-week, kinds: [Job, Task], when: Failed, ttlSecondsAfterFinished: 604800}
  - {name: succeeded-hour, kinds: [Job, Task], when: Succeeded, ttlSecondsAfterFinished: 3600}
`

type fixedPolicy struct{ p *policy.Policy }

func (f fixedPolicy) Current() *policy.Policy { return f.p }

func benchDeps(b testing.TB) (facts.PolicySource, AppGetter, facts.NamespaceLabels) {
	p, err := policy.Load([]byte(benchPolicy))
	if err != nil {
		b.Fatal(err)
	}
	app := &v1alpha1.App{
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web", UID: "u1"},
		Spec: v1alpha1.AppSpec{
			Image: "registry.example.com/shop/web:v1", Command: []string{"/cnb/lifecycle/launcher"}, Args: []string{"puma"},
			Env:             []corev1.EnvVar{{Name: "RAILS_ENV", Value: "production"}, {Name: "LOG_LEVEL", Value: "info"}},
			ServiceBindings: []v1alpha1.ServiceBinding{{Name: "db", SecretName: "shop-db"}},
			SecurityGroups:  []string{"postgres-egress"},
		},
	}
	apps := func(context.Context, string, string) (*v1alpha1.App, error) { return app, nil }
	namespaces := func(context.Context, string) (map[string]string, error) {
		return map[string]string{"team": "shop"}, nil
	}
	return fixedPolicy{p}, apps, namespaces
}

func review(b *testing.B, obj runtime.Object, kind string) admission.Request {
	raw, err := json.Marshal(obj)
	if err != nil {
		b.Fatal(err)
	}
	return admission.Request{AdmissionRequest: admissionv1.AdmissionRequest{
		Operation: admissionv1.Create, Namespace: "shop", Kind: reviewKind(kind),
		Object: runtime.RawExtension{Raw: raw},
	}}
}

func BenchmarkJobHandler(b *testing.B) {
	pol, apps, namespaces := benchDeps(b)
	h := &JobDefaulter{Policy: pol, Apps: apps, Namespaces: namespaces}
	req := review(b, &batchv1.Job{
		TypeMeta:   metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"},
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "nightly", Labels: map[string]string{v1alpha1.LabelApp: "web"}},
		Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
			RestartPolicy: corev1.RestartPolicyNever,
			Containers:    []corev1.Container{{Name: "main", Image: "registry.example.com/shop/web:v1"}},
		}}},
	}, "Job")
	b.ReportAllocs()
	for b.Loop() {
		if resp := h.Handle(context.Background(), req); !resp.Allowed || len(resp.Patches) == 0 {
			b.Fatalf("unexpected response: %+v", resp)
		}
	}
}

func BenchmarkTaskHandler(b *testing.B) {
	pol, apps, namespaces := benchDeps(b)
	h := &TaskDefaulter{Policy: pol, Apps: apps, Namespaces: namespaces}
	req := review(b, &v1alpha1.Task{
		TypeMeta:   metav1.TypeMeta{APIVersion: "taskgate.dev/v1alpha1", Kind: "Task"},
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "migrate"},
		Spec:       v1alpha1.TaskSpec{AppRef: v1alpha1.AppReference{Name: "web"}, Command: "bundle exec rake db:migrate"},
	}, "Task")
	b.ReportAllocs()
	for b.Loop() {
		if resp := h.Handle(context.Background(), req); !resp.Allowed || len(resp.Patches) == 0 {
			b.Fatalf("unexpected response: %+v", resp)
		}
	}
}
