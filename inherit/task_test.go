package inherit

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/taskgate/taskgate/api/v1alpha1"
	"github.com/taskgate/taskgate/policy"
)

var (
	hardenedPod = &corev1.PodSecurityContext{
		RunAsNonRoot:   new(true),
		SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
	}
	hardenedContainer = &corev1.SecurityContext{
		AllowPrivilegeEscalation: new(false),
		Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
		RunAsNonRoot:             new(true),
		SeccompProfile:           &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
	}
	vcapRef = corev1.EnvVar{Name: "VCAP_SERVICES", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
		LocalObjectReference: corev1.LocalObjectReference{Name: "shop-vcap-services"},
		Key:                  "VCAP_SERVICES",
		Optional:             new(true),
	}}}
	withBindings = func(a *v1alpha1.App) {
		a.Spec.ServiceBindings = []v1alpha1.ServiceBinding{{Name: "db", SecretName: "db-creds"}, {Name: "cache", SecretName: "redis-creds"}}
	}
)

// wantRun is what the minimal App "shop" resolves to under the default
// policy, changed by each of mods.
func wantRun(mods ...func(*v1alpha1.ResolvedRun)) *v1alpha1.ResolvedRun {
	r := &v1alpha1.ResolvedRun{
		Image:     testImage,
		Args:      []string{"bundle", "exec", "puma"},
		PodLabels: map[string]string{"taskgate.dev/app": "shop"},
		Resources: corev1.ResourceRequirements{
			Requests: list("cpu", "100m", "memory", "256Mi", "ephemeral-storage", "1Gi"),
			Limits:   list("memory", "256Mi", "ephemeral-storage", "1Gi"),
		},
		PodSecurityContext: hardenedPod,
		SecurityContext:    hardenedContainer,
		Timeout:            dur("1h"),
	}
	for _, m := range mods {
		m(r)
	}
	return r
}

// testAppUID is the UID of newApp's App.
const testAppUID = "6f1a3c2e-0b7d-4e59-9a41-2d8c5e7f9b10"

// withVCAPApplication appends the VCAP_APPLICATION every resolved Task of
// an App named app of newApp's gets, with the limits of want's resources in MiB.
func withVCAPApplication(want *v1alpha1.ResolvedRun, app string) *v1alpha1.ResolvedRun {
	w := want.DeepCopy()
	if slices.ContainsFunc(w.Env, func(e corev1.EnvVar) bool { return e.Name == "VCAP_APPLICATION" }) {
		return w
	}
	mib := func(name corev1.ResourceName) int64 {
		q, ok := w.Resources.Limits[name]
		if !ok {
			q = w.Resources.Requests[name]
		}
		return (q.Value() + 1<<20 - 1) >> 20
	}
	w.Env = append(w.Env, corev1.EnvVar{Name: "VCAP_APPLICATION", Value: fmt.Sprintf(
		`{"application_id":"%s","application_name":"%s","application_uris":[],"limits":{"mem":%d,"disk":%d,"fds":16384},"name":"%[2]s","space_name":"team-a","uris":[]}`,
		testAppUID, app, mib(corev1.ResourceMemory), mib(corev1.ResourceEphemeralStorage))})
	return w
}

func TestResolveTask(t *testing.T) {
	tests := []struct {
		name   string
		policy string
		app    *v1alpha1.App
		task   *v1alpha1.Task
		want   *v1alpha1.ResolvedRun
		// errs and warnings are exact; nil means none.
		errs     []string
		warnings []string
		// defaulted is the resources policy filled in; nil means none.
		defaulted      []string
		timeoutOutcome policy.Outcome
	}{{
		name:           "minimal: the App's start command, policy defaults, hardened security",
		app:            newApp(),
		task:           newTask(),
		want:           wantRun(),
		defaulted:      []string{"cpu", "memory", "disk"},
		timeoutOutcome: policy.OutcomeDefaulted,
	}, {
		name: "the Task's command replaces the App's command and args",
		app: newApp(func(a *v1alpha1.App) {
			a.Spec.Command = []string{"/cnb/process/web"}
			a.Spec.WorkingDir = "/workspace"
		}),
		task: newTask(func(t *v1alpha1.TaskSpec) { t.Command = "bundle exec rake db:migrate" }),
		want: wantRun(func(r *v1alpha1.ResolvedRun) {
			r.Command = []string{"/bin/sh", "-c", "bundle exec rake db:migrate"}
			r.Args = nil
			r.WorkingDir = "/workspace"
		}),
		warnings:       []string{WarningCommandReplacesEntrypoint},
		defaulted:      []string{"cpu", "memory", "disk"},
		timeoutOutcome: policy.OutcomeDefaulted,
	}, {
		name: "the Task's command replaces the App's args without a warning when the App has no command",
		app:  newApp(),
		task: newTask(func(t *v1alpha1.TaskSpec) { t.Command = "echo hi" }),
		want: wantRun(func(r *v1alpha1.ResolvedRun) {
			r.Command = []string{"/bin/sh", "-c", "echo hi"}
			r.Args = nil
		}),
		defaulted:      []string{"cpu", "memory", "disk"},
		timeoutOutcome: policy.OutcomeDefaulted,
	}, {
		name: "an App command without args is a start command",
		app:  newApp(func(a *v1alpha1.App) { a.Spec.Command, a.Spec.Args = []string{"/app/run"}, nil }),
		task: newTask(),
		want: wantRun(func(r *v1alpha1.ResolvedRun) {
			r.Command = []string{"/app/run"}
			r.Args = nil
		}),
		defaulted:      []string{"cpu", "memory", "disk"},
		timeoutOutcome: policy.OutcomeDefaulted,
	}, {
		name: "no start command anywhere",
		app:  newApp(func(a *v1alpha1.App) { a.Spec.Args = nil }),
		task: newTask(),
		want: wantRun(func(r *v1alpha1.ResolvedRun) { r.Args = nil }),
		errs: []string{
			"spec.command: Required value: no start command: set spec.command on the Task or args on App shop",
		},
		defaulted:      []string{"cpu", "memory", "disk"},
		timeoutOutcome: policy.OutcomeDefaulted,
	}, {
		name: "env: a Task entry replaces the App's in place, new ones follow in the Task's order",
		app:  newApp(func(a *v1alpha1.App) { a.Spec.Env = env("A", "1", "B", "2", "C", "3") }),
		task: newTask(func(t *v1alpha1.TaskSpec) { t.Env = env("B", "two", "D", "4", "A", "one") }),
		want: wantRun(func(r *v1alpha1.ResolvedRun) {
			r.Env = env("A", "one", "B", "two", "C", "3", "D", "4")
		}),
		defaulted:      []string{"cpu", "memory", "disk"},
		timeoutOutcome: policy.OutcomeDefaulted,
	}, {
		name: "bindings: volumes, read-only mounts, SERVICE_BINDING_ROOT and a VCAP_SERVICES reference",
		app: newApp(withBindings, func(a *v1alpha1.App) {
			a.Spec.Env = env("RAILS_ENV", "production")
			a.Spec.EnvFrom = []corev1.EnvFromSource{{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "shop-config"}}}}
		}),
		task: newTask(func(t *v1alpha1.TaskSpec) { t.Env = env("VERBOSE", "1") }),
		want: wantRun(func(r *v1alpha1.ResolvedRun) {
			r.Env = append(env("RAILS_ENV", "production", "SERVICE_BINDING_ROOT", "/bindings"), vcapRef, env("VERBOSE", "1")[0])
			r.EnvFrom = []corev1.EnvFromSource{{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "shop-config"}}}}
			r.Volumes = []corev1.Volume{
				bindingVolume("db", "db-creds"),
				bindingVolume("cache", "redis-creds"),
			}
			r.VolumeMounts = []corev1.VolumeMount{
				{Name: "binding-db", ReadOnly: true, MountPath: "/bindings/db"},
				{Name: "binding-cache", ReadOnly: true, MountPath: "/bindings/cache"},
			}
		}),
		defaulted:      []string{"cpu", "memory", "disk"},
		timeoutOutcome: policy.OutcomeDefaulted,
	}, {
		name: "security groups, service account, pull secrets",
		app: newApp(func(a *v1alpha1.App) {
			a.Spec.SecurityGroups = []string{"public-egress", "db"}
			a.Spec.ServiceAccountName = "shop-runner"
			a.Spec.ImagePullSecrets = []corev1.LocalObjectReference{{Name: "regcred"}}
		}),
		task: newTask(),
		want: wantRun(func(r *v1alpha1.ResolvedRun) {
			r.PodLabels = map[string]string{
				"taskgate.dev/app":              "shop",
				"taskgate.dev/sg-public-egress": "true",
				"taskgate.dev/sg-db":            "true",
			}
			r.ServiceAccountName = "shop-runner"
			r.ImagePullSecrets = []corev1.LocalObjectReference{{Name: "regcred"}}
		}),
		defaulted:      []string{"cpu", "memory", "disk"},
		timeoutOutcome: policy.OutcomeDefaulted,
	}, {
		name: "the App's resources are kept, including others than cpu, memory and disk",
		app: newApp(func(a *v1alpha1.App) {
			a.Spec.Resources = corev1.ResourceRequirements{
				Requests: list("cpu", "500m", "memory", "1Gi"),
				Limits:   list("memory", "1Gi", "ephemeral-storage", "2Gi", "example.com/gpu", "1"),
			}
		}),
		task: newTask(),
		want: wantRun(func(r *v1alpha1.ResolvedRun) {
			r.Resources = corev1.ResourceRequirements{
				Requests: list("cpu", "500m", "memory", "1Gi"),
				Limits:   list("memory", "1Gi", "ephemeral-storage", "2Gi", "example.com/gpu", "1"),
			}
		}),
		timeoutOutcome: policy.OutcomeDefaulted,
	}, {
		name: "policy defaults fill only what the App does not set; cpu gets no limit",
		app: newApp(func(a *v1alpha1.App) {
			a.Spec.Resources = corev1.ResourceRequirements{Limits: list("memory", "2Gi")}
		}),
		task: newTask(),
		want: wantRun(func(r *v1alpha1.ResolvedRun) {
			r.Resources = corev1.ResourceRequirements{
				Requests: list("cpu", "100m", "ephemeral-storage", "1Gi"),
				Limits:   list("memory", "2Gi", "ephemeral-storage", "1Gi"),
			}
		}),
		defaulted:      []string{"cpu", "disk"},
		timeoutOutcome: policy.OutcomeDefaulted,
	}, {
		name: "Task overrides set requests and limits together, above the App's limits",
		app: newApp(func(a *v1alpha1.App) {
			a.Spec.Resources = corev1.ResourceRequirements{
				Requests: list("cpu", "500m", "memory", "512Mi"),
				Limits:   list("cpu", "1", "memory", "512Mi"),
			}
		}),
		task: newTask(func(t *v1alpha1.TaskSpec) { t.CPU, t.Memory, t.Disk = qty("2"), qty("2Gi"), qty("4Gi") }),
		want: wantRun(func(r *v1alpha1.ResolvedRun) {
			r.Resources = corev1.ResourceRequirements{
				Requests: list("cpu", "2", "memory", "2Gi", "ephemeral-storage", "4Gi"),
				Limits:   list("cpu", "2", "memory", "2Gi", "ephemeral-storage", "4Gi"),
			}
		}),
		timeoutOutcome: policy.OutcomeDefaulted,
	}, {
		name:   "a Task above a ceiling is refused, naming the ceiling",
		policy: "tasks: {resources: {ceilings: {cpu: '4', memory: 8Gi}}}",
		app:    newApp(),
		task:   newTask(func(t *v1alpha1.TaskSpec) { t.Memory = qty("16Gi") }),
		want: wantRun(func(r *v1alpha1.ResolvedRun) {
			r.Resources = corev1.ResourceRequirements{
				Requests: list("cpu", "100m", "memory", "16Gi", "ephemeral-storage", "1Gi"),
				Limits:   list("memory", "16Gi", "ephemeral-storage", "1Gi"),
			}
		}),
		errs: []string{
			`spec.memory: Invalid value: "16Gi": exceeds the cluster ceiling of 8Gi set in policy tasks.resources.ceilings.memory; ask for at most 8Gi`,
		},
		defaulted:      []string{"cpu", "disk"},
		timeoutOutcome: policy.OutcomeDefaulted,
	}, {
		name:   "an App above a ceiling is refused, saying the value is the App's",
		policy: "tasks: {resources: {ceilings: {cpu: '4', memory: 8Gi}}}",
		app: newApp(func(a *v1alpha1.App) {
			a.Spec.Resources = corev1.ResourceRequirements{Requests: list("cpu", "8")}
		}),
		task: newTask(),
		want: wantRun(func(r *v1alpha1.ResolvedRun) {
			r.Resources = corev1.ResourceRequirements{
				Requests: list("cpu", "8", "memory", "256Mi", "ephemeral-storage", "1Gi"),
				Limits:   list("memory", "256Mi", "ephemeral-storage", "1Gi"),
			}
		}),
		errs: []string{
			`spec.cpu: Invalid value: "8": exceeds the cluster ceiling of 4 set in policy tasks.resources.ceilings.cpu; ask for at most 4; the value is App shop's, so set spec.cpu on the Task or lower the App's`,
		},
		defaulted:      []string{"memory", "disk"},
		timeoutOutcome: policy.OutcomeDefaulted,
	}, {
		name: "the App's security contexts are used when within policy",
		app: newApp(func(a *v1alpha1.App) {
			a.Spec.PodSecurityContext = &corev1.PodSecurityContext{RunAsUser: new(int64(1000)), FSGroup: new(int64(1000))}
			a.Spec.SecurityContext = &corev1.SecurityContext{Privileged: new(false), ReadOnlyRootFilesystem: new(true)}
		}),
		task: newTask(),
		want: wantRun(func(r *v1alpha1.ResolvedRun) {
			r.PodSecurityContext = &corev1.PodSecurityContext{RunAsUser: new(int64(1000)), FSGroup: new(int64(1000))}
			r.SecurityContext = &corev1.SecurityContext{Privileged: new(false), ReadOnlyRootFilesystem: new(true)}
		}),
		defaulted:      []string{"cpu", "memory", "disk"},
		timeoutOutcome: policy.OutcomeDefaulted,
	}, {
		name: "a privileged App is forbidden, naming the App and its field",
		app: newApp(func(a *v1alpha1.App) {
			a.Spec.SecurityContext = &corev1.SecurityContext{Privileged: new(true)}
		}),
		task: newTask(),
		want: wantRun(func(r *v1alpha1.ResolvedRun) {
			r.SecurityContext = &corev1.SecurityContext{Privileged: new(true)}
		}),
		errs: []string{
			"spec.appRef: Forbidden: App shop: spec.securityContext.privileged: Forbidden: privileged is not allowed for Tasks by cluster policy tasks.allowPrivileged; remove it or ask a cluster admin",
		},
		defaulted:      []string{"cpu", "memory", "disk"},
		timeoutOutcome: policy.OutcomeDefaulted,
	}, {
		name:   "a privileged App is allowed when policy allows it",
		policy: "tasks: {allowPrivileged: true}",
		app: newApp(func(a *v1alpha1.App) {
			a.Spec.SecurityContext = &corev1.SecurityContext{Privileged: new(true)}
		}),
		task: newTask(),
		want: wantRun(func(r *v1alpha1.ResolvedRun) {
			r.SecurityContext = &corev1.SecurityContext{Privileged: new(true)}
		}),
		defaulted:      []string{"cpu", "memory", "disk"},
		timeoutOutcome: policy.OutcomeDefaulted,
	}, {
		name:           "the Task's timeout within the maximum",
		policy:         "tasks: {timeout: {default: 2h, max: 24h}}",
		app:            newApp(),
		task:           newTask(func(t *v1alpha1.TaskSpec) { t.Timeout = dur("30m") }),
		want:           wantRun(func(r *v1alpha1.ResolvedRun) { r.Timeout = dur("30m") }),
		defaulted:      []string{"cpu", "memory", "disk"},
		timeoutOutcome: policy.OutcomeUnchanged,
	}, {
		name:           "the policy's default timeout",
		policy:         "tasks: {timeout: {default: 2h, max: 24h}}",
		app:            newApp(),
		task:           newTask(),
		want:           wantRun(func(r *v1alpha1.ResolvedRun) { r.Timeout = dur("2h") }),
		defaulted:      []string{"cpu", "memory", "disk"},
		timeoutOutcome: policy.OutcomeDefaulted,
	}, {
		name:   "a timeout above the maximum is refused",
		policy: "tasks: {timeout: {default: 2h, max: 24h}}",
		app:    newApp(),
		task:   newTask(func(t *v1alpha1.TaskSpec) { t.Timeout = dur("48h") }),
		want:   wantRun(func(r *v1alpha1.ResolvedRun) { r.Timeout = dur("48h") }),
		errs: []string{
			`spec.timeout: Invalid value: "48h": exceeds the cluster maximum of 24h set in policy tasks.timeout.max; ask for at most 24h`,
		},
		defaulted:      []string{"cpu", "memory", "disk"},
		timeoutOutcome: policy.OutcomeUnchanged,
	}, {
		name: "a user-supplied resolved is overwritten",
		app:  newApp(),
		task: newTask(func(t *v1alpha1.TaskSpec) {
			t.Resolved = &v1alpha1.ResolvedRun{
				Image:           "evil.example.com/miner",
				Command:         []string{"mine"},
				PodLabels:       map[string]string{"taskgate.dev/sg-everything": "true"},
				SecurityContext: &corev1.SecurityContext{Privileged: new(true)},
				Volumes:         []corev1.Volume{{Name: "root", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/"}}}},
			}
		}),
		want:           wantRun(),
		defaulted:      []string{"cpu", "memory", "disk"},
		timeoutOutcome: policy.OutcomeDefaulted,
	}, {
		name:   "audit mode: warnings instead of errors, and no defaults applied",
		policy: "mode: audit\ntasks: {resources: {ceilings: {memory: 8Gi}}}",
		app: newApp(func(a *v1alpha1.App) {
			a.Spec.SecurityContext = &corev1.SecurityContext{Privileged: new(true)}
		}),
		task: newTask(func(t *v1alpha1.TaskSpec) { t.Memory = qty("16Gi") }),
		want: wantRun(func(r *v1alpha1.ResolvedRun) {
			r.Resources = corev1.ResourceRequirements{Requests: list("memory", "16Gi"), Limits: list("memory", "16Gi")}
			r.SecurityContext = &corev1.SecurityContext{Privileged: new(true)}
			r.Timeout = nil
		}),
		warnings: []string{
			"audit: would set default cpu=100m, disk=1Gi (tasks.resources.defaults)",
			"audit: would reject spec.memory=16Gi: above the ceiling 8Gi (tasks.resources.ceilings.memory)",
			"audit: would set default timeout=1h (tasks.timeout.default)",
			"App shop: audit: would reject spec.securityContext.privileged: privileged (tasks.allowPrivileged: false)",
		},
		defaulted:      []string{"cpu", "disk"},
		timeoutOutcome: policy.OutcomeDefaulted,
	}, {
		name: "an App name too long for a label value",
		app:  newApp(func(a *v1alpha1.App) { a.Name = strings.Repeat("a", 64) }),
		task: newTask(),
		want: wantRun(func(r *v1alpha1.ResolvedRun) {
			r.PodLabels = map[string]string{"taskgate.dev/app": strings.Repeat("a", 64)}
		}),
		errs: []string{
			`spec.appRef: Invalid value: App ` + strings.Repeat("a", 64) + `: metadata.name: Invalid value: "` + strings.Repeat("a", 64) +
				`": cannot be the value of pod label taskgate.dev/app: must be no more than 63 bytes; Tasks need an App whose name can`,
		},
		defaulted:      []string{"cpu", "memory", "disk"},
		timeoutOutcome: policy.OutcomeDefaulted,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := policy.Default()
			if tt.policy != "" {
				p = loadPolicy(t, tt.policy)
			}
			app, task := tt.app.DeepCopy(), tt.task.DeepCopy()
			got := ResolveTask(app, task, p)
			tt.want = withVCAPApplication(tt.want, tt.app.Name)

			if g, w := toJSON(t, got.Resolved), toJSON(t, tt.want); g != w {
				t.Errorf("resolved:\n got %s\nwant %s", g, w)
			}
			if !Equal(got.Resolved, tt.want) {
				t.Errorf("Equal(resolved, want) = false")
			}
			var errs []string
			for _, e := range got.Errors {
				errs = append(errs, e.Error())
			}
			if !slices.Equal(errs, tt.errs) {
				t.Errorf("errors:\n got %q\nwant %q", errs, tt.errs)
			}
			if !slices.Equal(got.Warnings, tt.warnings) {
				t.Errorf("warnings:\n got %q\nwant %q", got.Warnings, tt.warnings)
			}
			for _, w := range got.Warnings {
				if len(w) >= 120 {
					t.Errorf("warning of %d characters: %q", len(w), w)
				}
			}
			if !slices.Equal(got.Resources.Defaulted, tt.defaulted) {
				t.Errorf("resources defaulted = %q, want %q", got.Resources.Defaulted, tt.defaulted)
			}
			if got.Timeout.Outcome != tt.timeoutOutcome {
				t.Errorf("timeout outcome = %s, want %s", got.Timeout.Outcome, tt.timeoutOutcome)
			}
			if !reflect.DeepEqual(app, tt.app) || !reflect.DeepEqual(task, tt.task) {
				t.Errorf("ResolveTask modified its arguments")
			}
		})
	}
}

// TestResolveTaskIdempotent resolves a Task, writes the result into it as
// the webhook does, and resolves again: the results are DeepEqual.
func TestResolveTaskIdempotent(t *testing.T) {
	p := loadPolicy(t, "tasks: {resources: {ceilings: {memory: 8Gi}}, timeout: {max: 24h}}")
	app := newApp(withBindings, func(a *v1alpha1.App) {
		a.Spec.Env = env("A", "1")
		a.Spec.SecurityGroups = []string{"db", "public-egress", "cache"}
		a.Spec.Resources = corev1.ResourceRequirements{Limits: list("memory", "1Gi")}
	})
	task := newTask(func(t *v1alpha1.TaskSpec) {
		t.Command, t.Env, t.CPU, t.Timeout = "rake db:migrate", env("A", "2"), qty("1500m"), dur("2h")
	})
	first := ResolveTask(app, task, p)
	task.Spec.Resolved = first.Resolved.DeepCopy()
	second := ResolveTask(app, task, p)
	if !reflect.DeepEqual(first, second) {
		t.Fatalf("second resolution differs:\n%s\n%s", toJSON(t, first), toJSON(t, second))
	}
	if !Equal(first.Resolved, second.Resolved) {
		t.Fatal("Equal = false")
	}
}

func TestEqual(t *testing.T) {
	a := wantRun()
	b := wantRun(func(r *v1alpha1.ResolvedRun) {
		// The same values as the API server may return them.
		r.Resources.Requests = list("cpu", "0.1", "memory", "268435456", "ephemeral-storage", "1024Mi")
		r.Env = []corev1.EnvVar{}
	})
	if !Equal(a, b) {
		t.Error("Equal(a, b) = false for semantically equal runs")
	}
	c := wantRun(func(r *v1alpha1.ResolvedRun) { r.Args = []string{"bundle", "exec", "sidekiq"} })
	if Equal(a, c) {
		t.Error("Equal(a, c) = true for different start commands")
	}
	if !Equal(nil, nil) || Equal(a, nil) {
		t.Error("Equal with nil")
	}
}
