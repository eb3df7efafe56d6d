package inherit

import (
	"encoding/json"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/taskgate/taskgate/api/v1alpha1"
)

// jobApp is the App the Job tests inject: env, envFrom, two bindings, a
// security group and resources.
func jobApp() *v1alpha1.App {
	return newApp(withBindings, func(a *v1alpha1.App) {
		a.Spec.Env = env("RAILS_ENV", "production")
		a.Spec.EnvFrom = []corev1.EnvFromSource{{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "shop-config"}}}}
		a.Spec.SecurityGroups = []string{"db"}
		a.Spec.Resources = corev1.ResourceRequirements{
			Requests: list("cpu", "250m", "memory", "512Mi"),
			Limits:   list("memory", "512Mi", "example.com/gpu", "1"),
		}
	})
}

// Values of jobApp, as JSON, to keep the expected patches readable.
const (
	jLabels   = `{"taskgate.dev/app":"shop","taskgate.dev/sg-db":"true"}`
	jVolDB    = `{"name":"binding-db","projected":{"sources":[{"secret":{"name":"db-creds"}},{"secret":{"name":"shop-vcap-services","items":[{"key":"type.db","path":"type"},{"key":"provider.db","path":"provider"}],"optional":true}}]}}`
	jVolC     = `{"name":"binding-cache","projected":{"sources":[{"secret":{"name":"redis-creds"}},{"secret":{"name":"shop-vcap-services","items":[{"key":"type.cache","path":"type"},{"key":"provider.cache","path":"provider"}],"optional":true}}]}}`
	jVolumes  = `[` + jVolDB + `,` + jVolC + `]`
	jRailsEnv = `{"name":"RAILS_ENV","value":"production"}`
	jRoot     = `{"name":"SERVICE_BINDING_ROOT","value":"/bindings"}`
	jVCAP     = `{"name":"VCAP_SERVICES","valueFrom":{"secretKeyRef":{"name":"shop-vcap-services","key":"VCAP_SERVICES","optional":true}}}`
	jEnvFrom  = `{"configMapRef":{"name":"shop-config"}}`
	jMountDB  = `{"name":"binding-db","readOnly":true,"mountPath":"/bindings/db"}`
	jMountC   = `{"name":"binding-cache","readOnly":true,"mountPath":"/bindings/cache"}`
	jRes      = `{"requests":{"cpu":"250m","memory":"512Mi"},"limits":{"example.com/gpu":"1","memory":"512Mi"}}`
)

func container(name string, mods ...func(*corev1.Container)) corev1.Container {
	c := corev1.Container{Name: name, Image: "registry.example.com/shop/web:v1"}
	for _, m := range mods {
		m(&c)
	}
	return c
}

func TestJobInjection(t *testing.T) {
	tests := []struct {
		name     string
		tmpl     corev1.PodTemplateSpec
		basePath string
		// want is the exact patch as a JSON array.
		want string
	}{{
		name:     "bare Job: every parent is created",
		tmpl:     corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{container("main")}}},
		basePath: "/spec/template",
		want: `[
			{"op":"add","path":"/spec/template/metadata","value":{"labels":` + jLabels + `}},
			{"op":"add","path":"/spec/template/spec/volumes","value":` + jVolumes + `},
			{"op":"add","path":"/spec/template/spec/containers/0/env","value":[` + jRailsEnv + `,` + jRoot + `,` + jVCAP + `]},
			{"op":"add","path":"/spec/template/spec/containers/0/envFrom","value":[` + jEnvFrom + `]},
			{"op":"add","path":"/spec/template/spec/containers/0/volumeMounts","value":[` + jMountDB + `,` + jMountC + `]},
			{"op":"add","path":"/spec/template/spec/containers/0/resources","value":` + jRes + `}
		]`,
	}, {
		name: "a CronJob's template, with an existing labels map: keys escaped, the Job's label kept",
		tmpl: corev1.PodTemplateSpec{
			ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"team": "a", "taskgate.dev/sg-db": "false"}},
			Spec: corev1.PodSpec{
				Volumes:    []corev1.Volume{{Name: "scratch", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}},
				Containers: []corev1.Container{container("main")},
			},
		},
		basePath: "/spec/jobTemplate/spec/template",
		want: `[
			{"op":"add","path":"/spec/jobTemplate/spec/template/metadata/labels/taskgate.dev~1app","value":"shop"},
			{"op":"add","path":"/spec/jobTemplate/spec/template/spec/volumes/-","value":` + jVolDB + `},
			{"op":"add","path":"/spec/jobTemplate/spec/template/spec/volumes/-","value":` + jVolC + `},
			{"op":"add","path":"/spec/jobTemplate/spec/template/spec/containers/0/env","value":[` + jRailsEnv + `,` + jRoot + `,` + jVCAP + `]},
			{"op":"add","path":"/spec/jobTemplate/spec/template/spec/containers/0/envFrom","value":[` + jEnvFrom + `]},
			{"op":"add","path":"/spec/jobTemplate/spec/template/spec/containers/0/volumeMounts","value":[` + jMountDB + `,` + jMountC + `]},
			{"op":"add","path":"/spec/jobTemplate/spec/template/spec/containers/0/resources","value":` + jRes + `}
		]`,
	}, {
		name: "metadata without labels gets the labels map",
		tmpl: corev1.PodTemplateSpec{
			ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{"note": "x"}},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{container("main")}},
		},
		basePath: "/spec/template",
		want: `[
			{"op":"add","path":"/spec/template/metadata/labels","value":` + jLabels + `},
			{"op":"add","path":"/spec/template/spec/volumes","value":` + jVolumes + `},
			{"op":"add","path":"/spec/template/spec/containers/0/env","value":[` + jRailsEnv + `,` + jRoot + `,` + jVCAP + `]},
			{"op":"add","path":"/spec/template/spec/containers/0/envFrom","value":[` + jEnvFrom + `]},
			{"op":"add","path":"/spec/template/spec/containers/0/volumeMounts","value":[` + jMountDB + `,` + jMountC + `]},
			{"op":"add","path":"/spec/template/spec/containers/0/resources","value":` + jRes + `}
		]`,
	}, {
		name: "what the container has is kept: env of the same name, envFrom, a mount path, a resource",
		tmpl: corev1.PodTemplateSpec{
			ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"taskgate.dev/app": "shop", "taskgate.dev/sg-db": "true"}},
			Spec: corev1.PodSpec{
				Volumes: []corev1.Volume{
					// binding-db as injected before, then defaulted by the API server.
					func() corev1.Volume {
						v := bindingVolume("db", "db-creds")
						v.Projected.DefaultMode = new(int32(0o644))
						return v
					}(),
					{Name: "own", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
				},
				Containers: []corev1.Container{container("main", func(c *corev1.Container) {
					c.Env = env("RAILS_ENV", "staging", "EXTRA", "1")
					c.EnvFrom = []corev1.EnvFromSource{{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "job-env"}}}}
					c.VolumeMounts = []corev1.VolumeMount{{Name: "own", MountPath: "/bindings/cache"}}
					c.Resources = corev1.ResourceRequirements{Limits: list("memory", "4Gi")}
				})},
			},
		},
		basePath: "/spec/template",
		want: `[
			{"op":"add","path":"/spec/template/spec/volumes/-","value":` + jVolC + `},
			{"op":"add","path":"/spec/template/spec/containers/0/env/-","value":` + jRoot + `},
			{"op":"add","path":"/spec/template/spec/containers/0/env/-","value":` + jVCAP + `},
			{"op":"add","path":"/spec/template/spec/containers/0/envFrom/0","value":` + jEnvFrom + `},
			{"op":"add","path":"/spec/template/spec/containers/0/volumeMounts/-","value":` + jMountDB + `},
			{"op":"add","path":"/spec/template/spec/containers/0/resources/requests","value":{"cpu":"250m"}},
			{"op":"add","path":"/spec/template/spec/containers/0/resources/limits/example.com~1gpu","value":"1"}
		]`,
	}, {
		name: "a Job volume of a binding's name that is not the binding's Secret is kept and not mounted",
		tmpl: corev1.PodTemplateSpec{
			ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"taskgate.dev/app": "shop", "taskgate.dev/sg-db": "true"}},
			Spec: corev1.PodSpec{
				Volumes: []corev1.Volume{{Name: "binding-db", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}},
				Containers: []corev1.Container{container("main", func(c *corev1.Container) {
					c.Env = append(env("RAILS_ENV", "x", "SERVICE_BINDING_ROOT", "/b"), corev1.EnvVar{Name: "VCAP_SERVICES"})
					c.EnvFrom = []corev1.EnvFromSource{{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "shop-config"}, Optional: new(true)}}}
					c.VolumeMounts = []corev1.VolumeMount{{Name: "binding-cache", MountPath: "/cache"}}
					c.Resources = corev1.ResourceRequirements{Requests: list("cpu", "1", "memory", "1Gi", "example.com/gpu", "2")}
				})},
			},
		},
		basePath: "/spec/template",
		want: `[
			{"op":"add","path":"/spec/template/spec/volumes/-","value":` + jVolC + `}
		]`,
	}, {
		name: "two containers, one with an empty env array and requests; init containers are left alone",
		tmpl: corev1.PodTemplateSpec{
			ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{}},
			Spec: corev1.PodSpec{
				InitContainers: []corev1.Container{container("wait")},
				Containers: []corev1.Container{
					container("main", func(c *corev1.Container) {
						c.Env = []corev1.EnvVar{}
						c.Resources = corev1.ResourceRequirements{Requests: list("memory", "1Gi")}
					}),
					container("sidecar"),
				},
			},
		},
		basePath: "/spec/template",
		want: `[
			{"op":"add","path":"/spec/template/metadata/labels/taskgate.dev~1app","value":"shop"},
			{"op":"add","path":"/spec/template/metadata/labels/taskgate.dev~1sg-db","value":"true"},
			{"op":"add","path":"/spec/template/spec/volumes","value":` + jVolumes + `},
			{"op":"add","path":"/spec/template/spec/containers/0/env/-","value":` + jRailsEnv + `},
			{"op":"add","path":"/spec/template/spec/containers/0/env/-","value":` + jRoot + `},
			{"op":"add","path":"/spec/template/spec/containers/0/env/-","value":` + jVCAP + `},
			{"op":"add","path":"/spec/template/spec/containers/0/envFrom","value":[` + jEnvFrom + `]},
			{"op":"add","path":"/spec/template/spec/containers/0/volumeMounts","value":[` + jMountDB + `,` + jMountC + `]},
			{"op":"add","path":"/spec/template/spec/containers/0/resources/requests/cpu","value":"250m"},
			{"op":"add","path":"/spec/template/spec/containers/0/resources/limits","value":{"example.com/gpu":"1"}},
			{"op":"add","path":"/spec/template/spec/containers/1/env","value":[` + jRailsEnv + `,` + jRoot + `,` + jVCAP + `]},
			{"op":"add","path":"/spec/template/spec/containers/1/envFrom","value":[` + jEnvFrom + `]},
			{"op":"add","path":"/spec/template/spec/containers/1/volumeMounts","value":[` + jMountDB + `,` + jMountC + `]},
			{"op":"add","path":"/spec/template/spec/containers/1/resources","value":` + jRes + `}
		]`,
	}, {
		name:     "no containers: nothing",
		tmpl:     corev1.PodTemplateSpec{},
		basePath: "/spec/template",
		want:     `null`,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tmpl := tt.tmpl.DeepCopy()
			ops := JobInjection(jobApp(), tmpl, tt.basePath)
			if got, want := canonicalJSON(t, toJSON(t, ops)), canonicalJSON(t, tt.want); got != want {
				t.Errorf("patch:\n got %s\nwant %s", got, want)
			}
			if toJSON(t, tmpl) != toJSON(t, tt.tmpl) {
				t.Error("JobInjection modified the template")
			}
			for _, op := range ops {
				if op.Operation != "add" {
					t.Errorf("operation %q, want only add", op.Operation)
				}
			}
		})
	}
}

// TestJobInjectionIdempotent patches a marshalled Job and a CronJob, as the
// API server would, and injects again: nothing more to do.
func TestJobInjectionIdempotent(t *testing.T) {
	templates := map[string]corev1.PodTemplateSpec{
		"bare": {Spec: corev1.PodSpec{Containers: []corev1.Container{container("main")}}},
		"own settings": {
			ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"taskgate.dev/sg-db": "false"}},
			Spec: corev1.PodSpec{
				Volumes: []corev1.Volume{{Name: "binding-db", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}},
				Containers: []corev1.Container{
					container("main", func(c *corev1.Container) {
						c.Env = env("RAILS_ENV", "staging")
						c.EnvFrom = []corev1.EnvFromSource{{Prefix: "J_", ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "shop-config"}}}}
						c.Resources = corev1.ResourceRequirements{Limits: list("memory", "1Gi")}
					}),
					container("sidecar", func(c *corev1.Container) { c.Env = []corev1.EnvVar{} }),
				},
			},
		},
	}
	for name, tmpl := range templates {
		t.Run(name+" Job", func(t *testing.T) {
			job := batchv1.Job{
				TypeMeta: metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"},
				Spec:     batchv1.JobSpec{Template: tmpl},
			}
			doc := applyTwice(t, &job, "/spec/template", func(out []byte) *corev1.PodTemplateSpec {
				var j batchv1.Job
				mustUnmarshal(t, out, &j)
				return &j.Spec.Template
			})
			var j batchv1.Job
			mustUnmarshal(t, doc, &j)
			if got := j.Spec.Template.Spec.Containers[0].Env[0]; got.Name != "RAILS_ENV" || tmpl.Spec.Containers[0].Env != nil && got.Value != "staging" {
				t.Errorf("first env var = %+v", got)
			}
		})
		t.Run(name+" CronJob", func(t *testing.T) {
			cj := batchv1.CronJob{
				TypeMeta: metav1.TypeMeta{APIVersion: "batch/v1", Kind: "CronJob"},
				Spec:     batchv1.CronJobSpec{Schedule: "@daily", JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: tmpl}}},
			}
			applyTwice(t, &cj, "/spec/jobTemplate/spec/template", func(out []byte) *corev1.PodTemplateSpec {
				var c batchv1.CronJob
				mustUnmarshal(t, out, &c)
				return &c.Spec.JobTemplate.Spec.Template
			})
		})
	}
}

// applyTwice marshals obj, applies the injection into the template at
// basePath and checks that injecting into the result does nothing. It
// returns the patched document.
func applyTwice(t *testing.T, obj any, basePath string, template func([]byte) *corev1.PodTemplateSpec) []byte {
	t.Helper()
	doc, err := json.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	ops := JobInjection(jobApp(), template(doc), basePath)
	if len(ops) == 0 {
		t.Fatal("no operations on the first run")
	}
	out := applyOps(t, doc, ops)
	if again := JobInjection(jobApp(), template(out), basePath); len(again) != 0 {
		t.Fatalf("second run returned %d operations: %s", len(again), toJSON(t, again))
	}
	return out
}

func mustUnmarshal(t testing.TB, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("unmarshal: %v", err)
	}
}
