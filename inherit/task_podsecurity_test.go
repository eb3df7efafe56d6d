package inherit

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"github.com/taskgate/taskgate/api/v1alpha1"
)

const (
	enforceLabel = "pod-security.kubernetes.io/enforce"
	sysAdminMsg  = `non-default capabilities (container "step-main" must not include "SYS_ADMIN" in securityContext.capabilities.add); ` +
		`add only capabilities the baseline level allows (such as CHOWN, KILL or NET_BIND_SERVICE)`
)

func withSysAdmin(a *v1alpha1.App) {
	a.Spec.SecurityContext = &corev1.SecurityContext{Capabilities: &corev1.Capabilities{Add: []corev1.Capability{"SYS_ADMIN"}}}
}

func TestResolveTaskInPodSecurity(t *testing.T) {
	tests := []struct {
		name     string
		policy   string
		labels   map[string]string
		app      *v1alpha1.App
		errs     []string
		warnings []string
	}{
		{
			name: "an added capability, under the default policy",
			app:  newApp(withSysAdmin),
			errs: []string{`spec.appRef: Forbidden: App shop: spec.securityContext.capabilities.add: Forbidden: violates PodSecurity "baseline:latest" (policy tasks.podSecurity): ` +
				sysAdminMsg + `, or ask a cluster admin for a tasks.podSecurity level that allows it`},
		},
		{
			name:   "root, in a restricted namespace",
			labels: map[string]string{enforceLabel: "restricted"},
			app: newApp(func(a *v1alpha1.App) {
				a.Spec.PodSecurityContext = &corev1.PodSecurityContext{RunAsUser: new(int64(0))}
			}),
			errs: []string{
				`spec.appRef: Forbidden: App shop: spec.podSecurityContext.runAsUser: Forbidden: violates PodSecurity "restricted:latest" (namespace label pod-security.kubernetes.io/enforce): ` +
					`runAsUser=0 (pod must not set runAsUser=0); set a non-zero runAsUser, or run the App in a namespace whose pod-security.kubernetes.io/enforce level allows it`,
			},
		},
		{
			name:   "audit",
			policy: "mode: audit",
			app:    newApp(withSysAdmin),
			warnings: []string{
				"audit: would set default cpu=100m, memory=256Mi, disk=1Gi (tasks.resources.defaults)",
				"audit: would set default timeout=1h (tasks.timeout.default)",
				"App shop: audit: would reject spec.securityContext.capabilities.add: non-default capabilities (baseline:latest)",
			},
		},
		{name: "privileged everywhere", policy: "tasks: {podSecurity: privileged}", labels: map[string]string{enforceLabel: "privileged"}, app: newApp(withSysAdmin)},
		{name: "the hardened defaults in a restricted namespace", labels: map[string]string{enforceLabel: "restricted"}, app: newApp(withBindings)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ResolveTaskIn(tt.app, newTask(), loadPolicy(t, tt.policy), tt.labels)
			var errs []string
			for _, e := range got.Errors {
				errs = append(errs, e.Error())
			}
			if !slices.Equal(errs, tt.errs) || !slices.Equal(got.Warnings, tt.warnings) {
				t.Errorf("errors %q, warnings %q\nwant %q, %q", errs, got.Warnings, tt.errs, tt.warnings)
			}
		})
	}
}

func TestValidateAppPodSecurity(t *testing.T) {
	errs, warnings := ValidateAppPodSecurity(newApp(withSysAdmin), loadPolicy(t, ""), nil)
	want := `spec.securityContext.capabilities.add: Forbidden: violates PodSecurity "baseline:latest" (policy tasks.podSecurity): ` +
		sysAdminMsg + `, or ask a cluster admin for a tasks.podSecurity level that allows it`
	if len(errs) != 1 || errs[0].Error() != want || warnings != nil {
		t.Errorf("got %v, %q\nwant [%s]", errs, warnings, want)
	}
	// An App that sets nothing gets the hardened defaults, which meet
	// restricted.
	if errs, _ := ValidateAppPodSecurity(newApp(withBindings), loadPolicy(t, "tasks: {podSecurity: restricted}"), nil); errs != nil {
		t.Errorf("hardened defaults: %v", errs)
	}
}

// TestExamplesMeetBaseline: the Apps shipped as examples are admitted under
// the default policy, and meet restricted too.
func TestExamplesMeetBaseline(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "examples", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no examples: %v", err)
	}
	apps := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
		for {
			doc, err := r.Read()
			if err != nil {
				break
			}
			var meta metav1.TypeMeta
			if err := yaml.Unmarshal(doc, &meta); err != nil || meta.Kind != "App" {
				continue
			}
			app := &v1alpha1.App{}
			if err := yaml.UnmarshalStrict(doc, app); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			apps++
			for _, level := range []string{"", "tasks: {podSecurity: restricted}"} {
				if errs, warnings := ValidateAppPodSecurity(app, loadPolicy(t, level), nil); errs != nil || warnings != nil {
					t.Errorf("%s: App %s under %q: %v %q", f, app.Name, level, errs, warnings)
				}
			}
		}
	}
	if apps == 0 {
		t.Fatal("the examples have no App")
	}
}

func TestRunPod(t *testing.T) {
	run := wantRun(func(r *v1alpha1.ResolvedRun) {
		r.Command = []string{"/bin/sh", "-c", "date"}
		r.ServiceAccountName = "migrator"
		r.ImagePullSecrets = []corev1.LocalObjectReference{{Name: "pull"}}
		r.Volumes = []corev1.Volume{{Name: "binding-db", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "db"}}}}
		r.VolumeMounts = []corev1.VolumeMount{{Name: "binding-db", ReadOnly: true, MountPath: "/bindings/db"}}
	})
	meta, spec := RunPod(run)
	want := &corev1.PodSpec{
		ServiceAccountName: "migrator",
		SecurityContext:    hardenedPod,
		ImagePullSecrets:   run.ImagePullSecrets,
		Volumes:            run.Volumes,
		Containers: []corev1.Container{{
			Name:            "step-main",
			Image:           testImage,
			Command:         []string{"/bin/sh", "-c", "date"},
			Args:            []string{"bundle", "exec", "puma"},
			Resources:       run.Resources,
			VolumeMounts:    run.VolumeMounts,
			SecurityContext: hardenedContainer,
		}},
	}
	if g, w := toJSON(t, spec), toJSON(t, want); g != w {
		t.Errorf("spec:\n got %s\nwant %s", g, w)
	}
	if !reflect.DeepEqual(meta.Labels, map[string]string{"taskgate.dev/app": "shop"}) {
		t.Errorf("labels = %v", meta.Labels)
	}
	spec.SecurityContext.RunAsNonRoot = new(false)
	if !*run.PodSecurityContext.RunAsNonRoot {
		t.Error("RunPod shares memory with the run")
	}
}

func TestSecurityDifferences(t *testing.T) {
	tests := []struct {
		name string
		got  *v1alpha1.ResolvedRun
		want []string
	}{
		{"equal", wantRun(), nil},
		{"what a Task pins may differ", wantRun(func(r *v1alpha1.ResolvedRun) {
			r.Image, r.Command, r.Env, r.Timeout = "registry.example.com/shop/web:v0", []string{"/bin/sh", "-c", "x"}, env("A", "1"), dur("5m")
			r.Resources = corev1.ResourceRequirements{}
		}), nil},
		{"empty and nil lists alike", wantRun(func(r *v1alpha1.ResolvedRun) { r.Volumes, r.EnvFrom = []corev1.Volume{}, []corev1.EnvFromSource{} }), nil},
		{"another ServiceAccount", wantRun(func(r *v1alpha1.ResolvedRun) { r.ServiceAccountName = "taskgate" }), []string{"serviceAccountName"}},
		{"every security field", wantRun(func(r *v1alpha1.ResolvedRun) {
			r.ServiceAccountName = "taskgate"
			r.PodSecurityContext = &corev1.PodSecurityContext{}
			r.SecurityContext = &corev1.SecurityContext{Privileged: new(true)}
			r.Volumes = []corev1.Volume{{Name: "root", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/"}}}}
			r.VolumeMounts = []corev1.VolumeMount{{Name: "root", MountPath: "/host"}}
			r.EnvFrom = []corev1.EnvFromSource{{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "admin"}}}}
			r.ImagePullSecrets = []corev1.LocalObjectReference{{Name: "pull"}}
			r.PodLabels = map[string]string{"taskgate.dev/app": "shop", "taskgate.dev/sg-public": "true"}
		}), []string{"serviceAccountName", "podSecurityContext", "securityContext", "volumes", "volumeMounts", "envFrom", "imagePullSecrets", "podLabels"}},
		{"none", nil, []string{"resolved"}},
	}
	for _, tt := range tests {
		if got := SecurityDifferences(tt.got, wantRun()); !slices.Equal(got, tt.want) {
			t.Errorf("%s: got %q, want %q", tt.name, got, tt.want)
		}
	}
}
