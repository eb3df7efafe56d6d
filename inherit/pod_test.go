package inherit

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/taskgate/taskgate/api/v1alpha1"
)

func TestAppPod(t *testing.T) {
	tests := []struct {
		name string
		app  *v1alpha1.App
		want PodConfig
	}{{
		name: "minimal: only the app label",
		app:  newApp(),
		want: PodConfig{Labels: map[string]string{"taskgate.dev/app": "shop"}},
	}, {
		name: "everything the App sets, and its bindings",
		app: newApp(withBindings, func(a *v1alpha1.App) {
			a.Spec.Env = env("B", "2", "A", "1")
			a.Spec.EnvFrom = []corev1.EnvFromSource{{Prefix: "S_", SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "shop-env"}}}}
			a.Spec.SecurityGroups = []string{"db"}
			a.Spec.Resources = corev1.ResourceRequirements{Limits: list("memory", "1Gi")}
			a.Spec.ServiceAccountName = "shop-runner"
			a.Spec.ImagePullSecrets = []corev1.LocalObjectReference{{Name: "regcred"}}
			a.Spec.PodSecurityContext = &corev1.PodSecurityContext{RunAsUser: new(int64(1000))}
			a.Spec.SecurityContext = &corev1.SecurityContext{ReadOnlyRootFilesystem: new(true)}
		}),
		want: PodConfig{
			Env:     append(env("B", "2", "A", "1", "SERVICE_BINDING_ROOT", "/bindings"), vcapRef),
			EnvFrom: []corev1.EnvFromSource{{Prefix: "S_", SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "shop-env"}}}},
			Volumes: []corev1.Volume{
				bindingVolume("db", "db-creds"),
				bindingVolume("cache", "redis-creds"),
			},
			VolumeMounts: []corev1.VolumeMount{
				{Name: "binding-db", ReadOnly: true, MountPath: "/bindings/db"},
				{Name: "binding-cache", ReadOnly: true, MountPath: "/bindings/cache"},
			},
			Labels:             map[string]string{"taskgate.dev/app": "shop", "taskgate.dev/sg-db": "true"},
			Resources:          corev1.ResourceRequirements{Limits: list("memory", "1Gi")},
			ServiceAccountName: "shop-runner",
			ImagePullSecrets:   []corev1.LocalObjectReference{{Name: "regcred"}},
			PodSecurityContext: &corev1.PodSecurityContext{RunAsUser: new(int64(1000))},
			SecurityContext:    &corev1.SecurityContext{ReadOnlyRootFilesystem: new(true)},
		},
	}, {
		name: "the App's own SERVICE_BINDING_ROOT and VCAP_SERVICES win; a repeated binding is skipped",
		app: newApp(func(a *v1alpha1.App) {
			a.Spec.Env = env("VCAP_SERVICES", "{}", "SERVICE_BINDING_ROOT", "/platform/bindings")
			a.Spec.ServiceBindings = []v1alpha1.ServiceBinding{{Name: "db", SecretName: "db-creds"}, {Name: "db", SecretName: "other"}}
		}),
		want: PodConfig{
			Env:          env("VCAP_SERVICES", "{}", "SERVICE_BINDING_ROOT", "/platform/bindings"),
			Volumes:      []corev1.Volume{bindingVolume("db", "db-creds")},
			VolumeMounts: []corev1.VolumeMount{{Name: "binding-db", ReadOnly: true, MountPath: "/bindings/db"}},
			Labels:       map[string]string{"taskgate.dev/app": "shop"},
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := AppPod(tt.app)
			if g, w := toJSON(t, got), toJSON(t, tt.want); g != w {
				t.Errorf("AppPod:\n got %s\nwant %s", g, w)
			}
		})
	}
}

func TestAppPodCopies(t *testing.T) {
	app := newApp(withBindings, func(a *v1alpha1.App) {
		a.Spec.Env = []corev1.EnvVar{{Name: "A", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}}}
		a.Spec.Resources = corev1.ResourceRequirements{Limits: list("memory", "1Gi")}
		a.Spec.SecurityContext = &corev1.SecurityContext{RunAsUser: new(int64(1000))}
	})
	want := app.DeepCopy()
	pc := AppPod(app)
	pc.Env[0].ValueFrom.FieldRef.FieldPath = "changed"
	pc.Resources.Limits[corev1.ResourceMemory] = *qty("2Gi")
	*pc.SecurityContext.RunAsUser = 0
	if toJSON(t, app) != toJSON(t, want) {
		t.Fatal("changing AppPod's result changed the App")
	}
}

func TestVCAPSecretName(t *testing.T) {
	long := strings.Repeat("a", 200) + "." + strings.Repeat("b", 52) // 253, the longest App name
	tests := []struct {
		app, want string
	}{
		{"shop", "shop-vcap-services"},
		{strings.Repeat("a", 239), strings.Repeat("a", 239) + "-vcap-services"},
		{long, strings.Repeat("a", 200) + "." + strings.Repeat("b", 27) + "-00d3c6e8d4-vcap-services"},
		// The cut would leave "a." before the hash; the dot goes.
		{strings.Repeat("a", 227) + "." + strings.Repeat("b", 25), strings.Repeat("a", 227) + "-e896ad22ee-vcap-services"},
	}
	for _, tt := range tests {
		got := VCAPSecretName(tt.app)
		if got != tt.want {
			t.Errorf("VCAPSecretName(%d characters) = %q, want %q", len(tt.app), got, tt.want)
		}
		if msgs := validation.IsDNS1123Subdomain(got); len(msgs) > 0 {
			t.Errorf("VCAPSecretName(%d characters) = %q: %v", len(tt.app), got, msgs)
		}
	}
	if VCAPSecretName(long) == VCAPSecretName(long[:252]+"c") {
		t.Error("two long names that differ only at the end share a Secret")
	}
}

func TestBindingVolumeName(t *testing.T) {
	tests := []struct {
		binding, want string
	}{
		{"db", "binding-db"},
		{strings.Repeat("a", 55), "binding-" + strings.Repeat("a", 55)},
		{strings.Repeat("a", 56), "binding-" + strings.Repeat("a", 44) + "-b35439a4ac"},
		{strings.Repeat("a", 43) + "-" + strings.Repeat("b", 19), "binding-" + strings.Repeat("a", 43) + "-af44decc86"},
	}
	for _, tt := range tests {
		got := BindingVolumeName(tt.binding)
		if got != tt.want {
			t.Errorf("BindingVolumeName(%q) = %q, want %q", tt.binding, got, tt.want)
		}
		if msgs := validation.IsDNS1123Label(got); len(msgs) > 0 {
			t.Errorf("BindingVolumeName(%q) = %q: %v", tt.binding, got, msgs)
		}
	}
}
