package inherit

import (
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/taskgate/taskgate/api/v1alpha1"
	"github.com/taskgate/taskgate/workload"
)

const pinnedImage = "registry.example.com/shop/web:v1@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

// fromDeployment makes App shop run deployment/web's container: no image
// and no start command of its own.
func fromDeployment(a *v1alpha1.App) {
	a.Spec.Image, a.Spec.Args = "", nil
	a.Spec.From = &v1alpha1.WorkloadRef{Kind: v1alpha1.WorkloadDeployment, Name: "web"}
}

// webContainer is deployment/web's container "app", with every field a
// Task takes, changed by each of mods.
func webContainer(mods ...func(*workload.Container)) *workload.Container {
	w := &workload.Container{
		Ref: v1alpha1.WorkloadRef{Kind: v1alpha1.WorkloadDeployment, Name: "web", Container: "app"},
		Pod: corev1.PodSpec{
			ServiceAccountName: "web",
			ImagePullSecrets:   []corev1.LocalObjectReference{{Name: "registry"}},
			SecurityContext:    &corev1.PodSecurityContext{RunAsUser: new(int64(1000))},
			Volumes: []corev1.Volume{
				{Name: "creds", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "web-creds"}}},
				{Name: "tmp", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
				{Name: "cache", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "proxy-cache"}}},
			},
		},
		Container: corev1.Container{
			Name:       "app",
			Image:      "registry.example.com/shop/web:v1",
			Command:    []string{"/app/entrypoint"},
			Args:       []string{"serve"},
			WorkingDir: "/app",
			Env:        env("RAILS_ENV", "production", "PORT", "8080"),
			EnvFrom:    []corev1.EnvFromSource{{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "web-config"}}}},
			Resources:  corev1.ResourceRequirements{Requests: list("cpu", "250m", "memory", "512Mi"), Limits: list("memory", "512Mi")},
			VolumeMounts: []corev1.VolumeMount{
				{Name: "creds", MountPath: "/etc/creds", ReadOnly: true},
				{Name: "tmp", MountPath: "/tmp"},
			},
			SecurityContext: &corev1.SecurityContext{AllowPrivilegeEscalation: new(false), RunAsNonRoot: new(true)},
		},
		Image:  pinnedImage,
		Pinned: true,
	}
	for _, m := range mods {
		m(w)
	}
	return w
}

func TestWithWorkload(t *testing.T) {
	w := webContainer()
	t.Run("the workload's container fills what the App leaves unset", func(t *testing.T) {
		got := WithWorkload(newApp(fromDeployment), w).Spec
		want := v1alpha1.AppSpec{
			From:               newApp(fromDeployment).Spec.From,
			Image:              pinnedImage,
			Command:            []string{"/app/entrypoint"},
			Args:               []string{"serve"},
			WorkingDir:         "/app",
			Env:                env("RAILS_ENV", "production", "PORT", "8080"),
			EnvFrom:            w.Container.EnvFrom,
			Resources:          w.Container.Resources,
			ServiceAccountName: "web",
			ImagePullSecrets:   []corev1.LocalObjectReference{{Name: "registry"}},
			PodSecurityContext: w.Pod.SecurityContext,
			SecurityContext:    w.Container.SecurityContext,
		}
		if toJSON(t, got) != toJSON(t, want) {
			t.Fatalf("WithWorkload() =\n%s\nwant\n%s", toJSON(t, got), toJSON(t, want))
		}
	})
	t.Run("what the App sets wins", func(t *testing.T) {
		app := newApp(fromDeployment, func(a *v1alpha1.App) {
			a.Spec.Image = "registry.example.com/shop/web:v2"
			a.Spec.Args = []string{"worker"}
			a.Spec.Env = env("RAILS_ENV", "staging", "QUEUE", "mail")
			a.Spec.EnvFrom = []corev1.EnvFromSource{{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "mail"}}}}
			a.Spec.Resources = corev1.ResourceRequirements{Limits: list("memory", "1Gi")}
			a.Spec.ServiceAccountName = "tasks"
			a.Spec.ImagePullSecrets = []corev1.LocalObjectReference{{Name: "registry"}, {Name: "mirror"}}
		})
		got := WithWorkload(app, w).Spec
		if got.Image != "registry.example.com/shop/web:v2" || !slices.Equal(got.Command, []string{"/app/entrypoint"}) || !slices.Equal(got.Args, []string{"worker"}) {
			t.Errorf("image, command, args = %q, %q, %q; want the App's image and args, the container's command", got.Image, got.Command, got.Args)
		}
		if want := env("RAILS_ENV", "staging", "PORT", "8080", "QUEUE", "mail"); toJSON(t, got.Env) != toJSON(t, want) {
			t.Errorf("env = %s; want the container's, the App's replacing by name in place, then the App's new ones", toJSON(t, got.Env))
		}
		if len(got.EnvFrom) != 2 || got.EnvFrom[0].ConfigMapRef == nil || got.EnvFrom[1].SecretRef == nil {
			t.Errorf("envFrom = %s; want the workload's, then the App's", toJSON(t, got.EnvFrom))
		}
		if want := (corev1.ResourceRequirements{Requests: list("cpu", "250m", "memory", "512Mi"), Limits: list("memory", "1Gi")}); toJSON(t, got.Resources) != toJSON(t, want) {
			t.Errorf("resources = %s; want %s", toJSON(t, got.Resources), toJSON(t, want))
		}
		if got.ServiceAccountName != "tasks" {
			t.Errorf("serviceAccountName = %q, want the App's", got.ServiceAccountName)
		}
		if want := []corev1.LocalObjectReference{{Name: "registry"}, {Name: "mirror"}}; !slices.Equal(got.ImagePullSecrets, want) {
			t.Errorf("imagePullSecrets = %v, want %v: each once", got.ImagePullSecrets, want)
		}
	})
	t.Run("the workload is not changed", func(t *testing.T) {
		before := toJSON(t, w)
		WithWorkload(newApp(fromDeployment, func(a *v1alpha1.App) { a.Spec.Env = env("A", "b") }), w).Spec.Env[0].Value = "changed"
		if toJSON(t, w) != before {
			t.Fatal("WithWorkload changed the workload's container")
		}
	})
	t.Run("an empty security context, as the API server stores an unset one, is unset", func(t *testing.T) {
		empty := webContainer(func(w *workload.Container) {
			w.Pod.SecurityContext, w.Container.SecurityContext = &corev1.PodSecurityContext{}, &corev1.SecurityContext{}
		})
		res := ResolveTaskFrom(newApp(fromDeployment), empty, newTask(func(s *v1alpha1.TaskSpec) { s.Command = "true" }), loadPolicy(t, ""), Namespace{})
		wantPod, wantContainer := securityContexts(PodConfig{})
		if toJSON(t, res.Resolved.PodSecurityContext) != toJSON(t, wantPod) || toJSON(t, res.Resolved.SecurityContext) != toJSON(t, wantContainer) {
			t.Fatalf("security contexts %s, %s; want the hardened defaults", toJSON(t, res.Resolved.PodSecurityContext), toJSON(t, res.Resolved.SecurityContext))
		}
	})
	t.Run("no workload", func(t *testing.T) {
		app := newApp()
		if WithWorkload(app, nil) != app {
			t.Fatal("WithWorkload(app, nil) is not app")
		}
	})
}

func TestWorkloadVolumes(t *testing.T) {
	secretAndTmp := []string{"creds", "tmp"}
	for _, tc := range []struct {
		name        string
		policy      string
		mod         func(*workload.Container)
		wantVolumes []string
		wantErr     string
	}{
		{"a sidecar's claim is not the Task's", "", nil, secretAndTmp, ""},
		{"configMap, projected and downwardAPI volumes", "", func(w *workload.Container) {
			w.Pod.Volumes = append(w.Pod.Volumes,
				corev1.Volume{Name: "cfg", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{}}},
				corev1.Volume{Name: "proj", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{}}},
				corev1.Volume{Name: "info", VolumeSource: corev1.VolumeSource{DownwardAPI: &corev1.DownwardAPIVolumeSource{}}})
			w.Container.VolumeMounts = append(w.Container.VolumeMounts,
				corev1.VolumeMount{Name: "cfg", MountPath: "/etc/cfg"}, corev1.VolumeMount{Name: "proj", MountPath: "/var/proj"},
				corev1.VolumeMount{Name: "info", MountPath: "/etc/info"}, corev1.VolumeMount{Name: "cfg", MountPath: "/etc/cfg2", SubPath: "a"})
		}, []string{"creds", "tmp", "cfg", "proj", "info"}, ""},
		{"the container's claim", "", func(w *workload.Container) {
			w.Container.VolumeMounts = append(w.Container.VolumeMounts, corev1.VolumeMount{Name: "cache", MountPath: "/cache"})
		}, secretAndTmp, "spec.from: Forbidden: deployment/web's container app mounts volume cache, claim proxy-cache: a Task would share it with the running app, and a ReadWriteOnce volume keeps one of them from starting (cluster policy tasks.fromWorkloads.allowPersistentVolumeClaims is false); remove the mount from the container, set spec.from.container to one that does not mount it, or describe the App without spec.from"},
		{"the container's claim where policy allows claims", "tasks: {fromWorkloads: {allowPersistentVolumeClaims: true}}", func(w *workload.Container) {
			w.Container.VolumeMounts = append(w.Container.VolumeMounts, corev1.VolumeMount{Name: "cache", MountPath: "/cache"})
		}, []string{"creds", "tmp", "cache"}, ""},
		{"hostPath", "", func(w *workload.Container) {
			w.Pod.Volumes = append(w.Pod.Volumes, corev1.Volume{Name: "logs", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/var/log"}}})
			w.Container.VolumeMounts = append(w.Container.VolumeMounts, corev1.VolumeMount{Name: "logs", MountPath: "/logs"})
		}, secretAndTmp, "spec.from: Forbidden: deployment/web's container app mounts volume logs, a kind of volume a Task does not take from a workload (it takes secret, configMap, projected, downwardAPI and emptyDir); remove the mount from the container, set spec.from.container to one that does not mount it, or describe the App without spec.from"},
		{"raw block devices", "", func(w *workload.Container) {
			w.Container.VolumeDevices = []corev1.VolumeDevice{{Name: "cache", DevicePath: "/dev/xvda"}}
		}, secretAndTmp, "spec.from.container: Forbidden: deployment/web's container app uses raw block devices (volumeDevices), which a Task does not take; set spec.from.container to another container, or describe the App without spec.from"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := webContainer()
			if tc.mod != nil {
				tc.mod(w)
			}
			volumes, mounts, errs := WorkloadVolumes(w, loadPolicy(t, tc.policy))
			var names []string
			for _, v := range volumes {
				names = append(names, v.Name)
			}
			if !slices.Equal(names, tc.wantVolumes) {
				t.Errorf("volumes = %v, want %v", names, tc.wantVolumes)
			}
			for _, m := range mounts {
				if !slices.Contains(names, m.Name) {
					t.Errorf("mount %s has no volume", m.Name)
				}
			}
			if got := errs.ToAggregate(); (got == nil) != (tc.wantErr == "") || (got != nil && got.Error() != tc.wantErr) {
				t.Errorf("errors = %v\nwant %s", got, tc.wantErr)
			}
		})
	}
}

func TestResolveTaskFrom(t *testing.T) {
	task := newTask(func(s *v1alpha1.TaskSpec) { s.Command = "rake db:migrate" })
	t.Run("the Task runs the workload's container", func(t *testing.T) {
		app := newApp(fromDeployment, func(a *v1alpha1.App) {
			a.Spec.ServiceBindings = []v1alpha1.ServiceBinding{{Name: "db", SecretName: "db-creds"}}
		})
		res := ResolveTaskFrom(app, webContainer(), task, loadPolicy(t, ""), Namespace{})
		// The container's command is the App's entrypoint, which a
		// Task's command replaces, as for any App.
		if len(res.Errors) > 0 || !slices.Equal(res.Warnings, []string{WarningCommandReplacesEntrypoint}) {
			t.Fatalf("errors %v, warnings %q; want none and %q", res.Errors, res.Warnings, WarningCommandReplacesEntrypoint)
		}
		run := res.Resolved
		if run.Image != pinnedImage || !slices.Equal(run.Command, []string{"/bin/sh", "-c", "rake db:migrate"}) || run.WorkingDir != "/app" || run.ServiceAccountName != "web" {
			t.Errorf("image %q, command %q, workingDir %q, serviceAccountName %q", run.Image, run.Command, run.WorkingDir, run.ServiceAccountName)
		}
		var volumes, mounts []string
		for _, v := range run.Volumes {
			volumes = append(volumes, v.Name)
		}
		for _, m := range run.VolumeMounts {
			mounts = append(mounts, m.Name+":"+m.MountPath)
		}
		if want := []string{"binding-db", "creds", "tmp"}; !slices.Equal(volumes, want) {
			t.Errorf("volumes = %v, want %v: the bindings', then the workload's", volumes, want)
		}
		if want := []string{"binding-db:/bindings/db", "creds:/etc/creds", "tmp:/tmp"}; !slices.Equal(mounts, want) {
			t.Errorf("mounts = %v, want %v", mounts, want)
		}
		if i := slices.IndexFunc(run.Env, func(e corev1.EnvVar) bool { return e.Name == "RAILS_ENV" }); i < 0 || run.Env[i].Value != "production" {
			t.Errorf("env = %s; want the container's RAILS_ENV", toJSON(t, run.Env))
		}
		if run.PodLabels[v1alpha1.LabelApp] != "shop" {
			t.Errorf("pod labels = %v; want the App's", run.PodLabels)
		}
	})
	t.Run("an unpinned image is a warning", func(t *testing.T) {
		w := webContainer(func(w *workload.Container) { w.Image, w.Pinned, w.Container.Command = w.Container.Image, false, nil })
		res := ResolveTaskFrom(newApp(fromDeployment), w, task, loadPolicy(t, ""), Namespace{})
		want := []string{"no pod of deployment/web reports a digest: the Task runs what registry.example.com/shop/web:v1 names when it starts"}
		if len(res.Errors) > 0 || !slices.Equal(res.Warnings, want) {
			t.Fatalf("errors %v, warnings %q; want none and %q", res.Errors, res.Warnings, want)
		}
	})
	t.Run("errors of the workload are the App's, at spec.appRef", func(t *testing.T) {
		w := webContainer(func(w *workload.Container) {
			w.Container.VolumeMounts = append(w.Container.VolumeMounts, corev1.VolumeMount{Name: "cache", MountPath: "/cache"})
			w.Container.SecurityContext = &corev1.SecurityContext{Privileged: new(true)}
		})
		res := ResolveTaskFrom(newApp(fromDeployment), w, task, loadPolicy(t, ""), Namespace{})
		got := res.Errors.ToAggregate().Error()
		for _, want := range []string{
			"spec.appRef: Forbidden: App shop (from deployment/web): spec.from: Forbidden: deployment/web's container app mounts volume cache",
			"spec.appRef: Forbidden: App shop (from deployment/web): spec.securityContext.privileged",
		} {
			if !strings.Contains(got, want) {
				t.Errorf("errors = %s\nwant one starting %q", got, want)
			}
		}
	})
	t.Run("an App from a workload not read does not resolve", func(t *testing.T) {
		res := ResolveTaskFrom(newApp(fromDeployment), nil, task, loadPolicy(t, ""), Namespace{})
		if got := res.Errors.ToAggregate(); got == nil || !strings.Contains(got.Error(), "spec.appRef: Internal error: App shop (from deployment/web): spec.from: Internal error: deployment/web was not read") {
			t.Fatalf("errors = %v", got)
		}
	})
	t.Run("a binding's volume may not take a workload volume's name", func(t *testing.T) {
		app := newApp(fromDeployment, func(a *v1alpha1.App) {
			a.Spec.ServiceBindings = []v1alpha1.ServiceBinding{{Name: "db", SecretName: "db-creds"}}
		})
		w := webContainer(func(w *workload.Container) {
			w.Pod.Volumes[0].Name, w.Container.VolumeMounts[0].Name = "binding-db", "binding-db"
		})
		res := ResolveTaskFrom(app, w, task, loadPolicy(t, ""), Namespace{})
		want := `spec.appRef: Invalid value: App shop (from deployment/web): spec.serviceBindings: Invalid value: "db": the binding's volume binding-db has the name of a volume the workload's container mounts; rename the binding or the workload's volume`
		if got := res.Errors.ToAggregate(); got == nil || got.Error() != want {
			t.Fatalf("errors = %v\nwant %s", got, want)
		}
	})
}
