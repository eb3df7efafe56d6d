package inherit

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/taskgate/taskgate/api/v1alpha1"
	"github.com/taskgate/taskgate/policy"
)

func TestVCAPApplicationEnv(t *testing.T) {
	app := &v1alpha1.App{ObjectMeta: metav1.ObjectMeta{Name: "shop", Namespace: "team-a", UID: "9b2c"}}
	tests := []struct {
		name      string
		resources corev1.ResourceRequirements
		want      string
	}{{
		name:      "limits in MiB",
		resources: corev1.ResourceRequirements{Limits: list("memory", "512Mi", "ephemeral-storage", "2Gi")},
		want:      `{"application_id":"9b2c","application_name":"shop","application_uris":[],"limits":{"mem":512,"disk":2048,"fds":16384},"name":"shop","space_id":"4d1e","space_name":"team-a","uris":[]}`,
	}, {
		name:      "rounded up; the request when there is no limit",
		resources: corev1.ResourceRequirements{Requests: list("memory", "100M", "ephemeral-storage", "1")},
		want:      `{"application_id":"9b2c","application_name":"shop","application_uris":[],"limits":{"mem":96,"disk":1,"fds":16384},"name":"shop","space_id":"4d1e","space_name":"team-a","uris":[]}`,
	}, {
		name:      "the limit over the request",
		resources: corev1.ResourceRequirements{Requests: list("memory", "1Gi"), Limits: list("memory", "2Gi")},
		want:      `{"application_id":"9b2c","application_name":"shop","application_uris":[],"limits":{"mem":2048,"disk":0,"fds":16384},"name":"shop","space_id":"4d1e","space_name":"team-a","uris":[]}`,
	}, {
		name: "none",
		want: `{"application_id":"9b2c","application_name":"shop","application_uris":[],"limits":{"mem":0,"disk":0,"fds":16384},"name":"shop","space_id":"4d1e","space_name":"team-a","uris":[]}`,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := VCAPApplicationEnv(app, "4d1e", &tt.resources)
			if got.Name != "VCAP_APPLICATION" || got.ValueFrom != nil || got.Value != tt.want {
				t.Errorf("got %+v, want value\n%s", got, tt.want)
			}
		})
	}
}

// TestResolveTaskVCAPApplication: the Task's limits reach VCAP_APPLICATION,
// and a VCAP_APPLICATION the App's or the Task's env sets wins.
func TestResolveTaskVCAPApplication(t *testing.T) {
	vcapApp := func(r *v1alpha1.ResolvedRun) string {
		for _, e := range r.Env {
			if e.Name == "VCAP_APPLICATION" {
				return e.Value
			}
		}
		return "<none>"
	}
	r := ResolveTask(newApp(), newTask(func(t *v1alpha1.TaskSpec) { t.Memory = qty("1Gi") }), policy.Default())
	if want := `{"application_id":"` + testAppUID + `","application_name":"shop","application_uris":[],"limits":{"mem":1024,"disk":1024,"fds":16384},"name":"shop","space_name":"team-a","uris":[]}`; vcapApp(r.Resolved) != want {
		t.Errorf("VCAP_APPLICATION = %s, want %s", vcapApp(r.Resolved), want)
	}
	// The webhooks resolve with the namespace's UID, its space_id.
	r = ResolveTaskInNamespace(newApp(), newTask(), policy.Default(), Namespace{UID: "4d1e"})
	if want := `{"application_id":"` + testAppUID + `","application_name":"shop","application_uris":[],"limits":{"mem":256,"disk":1024,"fds":16384},"name":"shop","space_id":"4d1e","space_name":"team-a","uris":[]}`; vcapApp(r.Resolved) != want {
		t.Errorf("VCAP_APPLICATION in a namespace = %s, want %s", vcapApp(r.Resolved), want)
	}
	r = ResolveTask(newApp(func(a *v1alpha1.App) { a.Spec.Env = env("VCAP_APPLICATION", "app's") }), newTask(), policy.Default())
	if got := vcapApp(r.Resolved); got != "app's" || len(r.Resolved.Env) != 1 {
		t.Errorf("with the App's own: env %+v", r.Resolved.Env)
	}
	r = ResolveTask(newApp(), newTask(func(t *v1alpha1.TaskSpec) { t.Env = env("VCAP_APPLICATION", "task's") }), policy.Default())
	if got := vcapApp(r.Resolved); got != "task's" || len(r.Resolved.Env) != 1 {
		t.Errorf("with the Task's own: env %+v", r.Resolved.Env)
	}
}
