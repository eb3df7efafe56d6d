package inherit

import (
	"encoding/json"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/taskgate/taskgate/api/v1alpha1"
	"github.com/taskgate/taskgate/policy"
)

const testImage = "registry.example.com/shop/web:v1"

// newApp returns App "shop" with an image and a start command, changed by
// each of mods.
func newApp(mods ...func(*v1alpha1.App)) *v1alpha1.App {
	app := &v1alpha1.App{
		ObjectMeta: metav1.ObjectMeta{Name: "shop", Namespace: "team-a", UID: testAppUID},
		Spec: v1alpha1.AppSpec{
			Image: testImage,
			Args:  []string{"bundle", "exec", "puma"},
		},
	}
	for _, m := range mods {
		m(app)
	}
	return app
}

// newTask returns a Task of App "shop", changed by each of mods.
func newTask(mods ...func(*v1alpha1.TaskSpec)) *v1alpha1.Task {
	task := &v1alpha1.Task{
		ObjectMeta: metav1.ObjectMeta{Name: "migrate", Namespace: "team-a"},
		Spec:       v1alpha1.TaskSpec{AppRef: v1alpha1.AppReference{Name: "shop"}},
	}
	for _, m := range mods {
		m(&task.Spec)
	}
	return task
}

// loadPolicy loads a policy from the body of a document, after the header.
func loadPolicy(t testing.TB, body string) *policy.Policy {
	t.Helper()
	p, err := policy.Load([]byte("apiVersion: taskgate.dev/v1alpha1\nkind: Policy\n" + body))
	if err != nil {
		t.Fatalf("policy.Load: %v", err)
	}
	return p
}

func qty(s string) *resource.Quantity { return new(resource.MustParse(s)) }

func dur(s string) *metav1.Duration {
	d, err := time.ParseDuration(s)
	if err != nil {
		panic(err)
	}
	return &metav1.Duration{Duration: d}
}

func list(kv ...string) corev1.ResourceList {
	l := corev1.ResourceList{}
	for i := 0; i < len(kv); i += 2 {
		l[corev1.ResourceName(kv[i])] = resource.MustParse(kv[i+1])
	}
	return l
}

func env(kv ...string) []corev1.EnvVar {
	var e []corev1.EnvVar
	for i := 0; i < len(kv); i += 2 {
		e = append(e, corev1.EnvVar{Name: kv[i], Value: kv[i+1]})
	}
	return e
}

// toJSON renders v for exact comparison and readable failures.
func toJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	return string(b)
}

// canonicalJSON re-renders a JSON document with sorted keys and no space.
func canonicalJSON(t testing.TB, s string) string {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("unmarshal %s: %v", s, err)
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// bindingVolume is the volume of binding name of App shop: all of secret,
// then its type and provider from shop's VCAP_SERVICES Secret.
func bindingVolume(name, secret string) corev1.Volume {
	return corev1.Volume{Name: "binding-" + name, VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{
		Sources: []corev1.VolumeProjection{
			{Secret: &corev1.SecretProjection{LocalObjectReference: corev1.LocalObjectReference{Name: secret}}},
			{Secret: &corev1.SecretProjection{
				LocalObjectReference: corev1.LocalObjectReference{Name: "shop-vcap-services"},
				Items:                []corev1.KeyToPath{{Key: "type." + name, Path: "type"}, {Key: "provider." + name, Path: "provider"}},
				Optional:             new(true),
			}},
		},
	}}}
}
