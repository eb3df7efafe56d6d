package reconciler

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	jsonpatch "github.com/evanphx/json-patch/v5"
	"github.com/google/go-cmp/cmp"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/pod"
	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/taskgate/taskgate/api/v1alpha1"
	"github.com/taskgate/taskgate/policy"
)

// minimalTask is a Task as the reconciler first sees it: resolved by the
// webhook, with an ID.
func minimalTask() *v1alpha1.Task {
	return &v1alpha1.Task{
		ObjectMeta: metav1.ObjectMeta{Name: "migrate", Namespace: "shop", UID: "uid-1", Generation: 1},
		Spec: v1alpha1.TaskSpec{
			AppRef:   v1alpha1.AppReference{Name: "web"},
			Resolved: &v1alpha1.ResolvedRun{Image: "registry.example.com/shop/web@sha256:abc", Timeout: &metav1.Duration{Duration: 30 * time.Minute}},
		},
		Status: v1alpha1.TaskStatus{ID: 7},
	}
}

// minimalPipelineRun is, in full, what minimalTask builds.
func minimalPipelineRun() *pipelinev1.PipelineRun {
	return &pipelinev1.PipelineRun{
		TypeMeta: metav1.TypeMeta{APIVersion: "tekton.dev/v1", Kind: "PipelineRun"},
		ObjectMeta: metav1.ObjectMeta{
			Name:      "migrate",
			Namespace: "shop",
			Labels: map[string]string{
				"taskgate.dev/app":     "web",
				"taskgate.dev/task":    "migrate",
				"taskgate.dev/task-id": "7",
				"tekton.dev/pipeline":  "migrate",
			},
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: "taskgate.dev/v1alpha1", Kind: "Task", Name: "migrate", UID: "uid-1",
				Controller: new(true), BlockOwnerDeletion: new(true),
			}},
		},
		Spec: pipelinev1.PipelineRunSpec{
			PipelineSpec: &pipelinev1.PipelineSpec{
				Tasks: []pipelinev1.PipelineTask{{
					Name: "run",
					TaskSpec: &pipelinev1.EmbeddedTask{TaskSpec: pipelinev1.TaskSpec{
						Steps: []pipelinev1.Step{{Name: "main", Image: "registry.example.com/shop/web@sha256:abc"}},
					}},
				}},
			},
			Timeouts: &pipelinev1.TimeoutFields{
				Pipeline: &metav1.Duration{Duration: 30 * time.Minute},
				Tasks:    &metav1.Duration{Duration: 30 * time.Minute},
			},
		},
	}
}

// fullTask sets every field of spec.resolved, as for an App with a service
// binding, security groups and hardened security contexts.
func fullTask() *v1alpha1.Task {
	t := minimalTask()
	t.Spec.Retries = new(int32(2))
	t.Spec.Resolved = &v1alpha1.ResolvedRun{
		Image:      "registry.example.com/shop/web@sha256:abc",
		Command:    []string{"/bin/sh", "-c"},
		Args:       []string{"bundle exec rake db:migrate"},
		WorkingDir: "/workspace",
		Env: []corev1.EnvVar{
			{Name: "RAILS_ENV", Value: "production"},
			{Name: "SERVICE_BINDING_ROOT", Value: "/bindings"},
			{Name: "VCAP_SERVICES", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
				LocalObjectReference: corev1.LocalObjectReference{Name: "web-vcap"}, Key: "VCAP_SERVICES"}}},
		},
		EnvFrom: []corev1.EnvFromSource{{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "web-config"}}}},
		Resources: corev1.ResourceRequirements{
			Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m"), corev1.ResourceMemory: resource.MustParse("1Gi")},
			Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m"), corev1.ResourceMemory: resource.MustParse("1Gi")},
		},
		Volumes:      []corev1.Volume{{Name: "binding-db", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "db-creds"}}}},
		VolumeMounts: []corev1.VolumeMount{{Name: "binding-db", MountPath: "/bindings/db", ReadOnly: true}},
		PodLabels: map[string]string{
			"taskgate.dev/app":               "web",
			"taskgate.dev/sg-public-egress":  "true",
			"taskgate.dev/sg-postgres-reach": "true",
		},
		ServiceAccountName: "web-runner",
		ImagePullSecrets:   []corev1.LocalObjectReference{{Name: "registry-creds"}},
		PodSecurityContext: &corev1.PodSecurityContext{RunAsNonRoot: new(true), SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}},
		SecurityContext: &corev1.SecurityContext{
			AllowPrivilegeEscalation: new(false),
			Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
		},
		Timeout: &metav1.Duration{Duration: 2 * time.Hour},
	}
	return t
}

// podMetadataPolicy lets the keys and globs of the e2e examples through.
func podMetadataPolicy(t testing.TB) *policy.Policy {
	t.Helper()
	p, err := policy.Load([]byte(`apiVersion: taskgate.dev/v1alpha1
kind: Policy
tasks:
  podMetadata:
    annotations: [kwok.x-k8s.io/exit-code, "example.com/*"]
    labels: [team, "example.com/*"]
`))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestBuildPipelineRun(t *testing.T) {
	tests := []struct {
		name string
		task func() *v1alpha1.Task
		// policy is nil for the default policy.
		policy func(testing.TB) *policy.Policy
		want   func() *pipelinev1.PipelineRun
	}{
		{
			name: "minimal",
			task: minimalTask,
			want: minimalPipelineRun,
		},
		{
			name: "every resolved field",
			task: fullTask,
			want: func() *pipelinev1.PipelineRun {
				return &pipelinev1.PipelineRun{
					TypeMeta: metav1.TypeMeta{APIVersion: "tekton.dev/v1", Kind: "PipelineRun"},
					ObjectMeta: metav1.ObjectMeta{
						Name:      "migrate",
						Namespace: "shop",
						Labels: map[string]string{
							"taskgate.dev/app":               "web",
							"taskgate.dev/task":              "migrate",
							"taskgate.dev/task-id":           "7",
							"taskgate.dev/sg-public-egress":  "true",
							"taskgate.dev/sg-postgres-reach": "true",
							"tekton.dev/pipeline":            "migrate",
						},
						OwnerReferences: []metav1.OwnerReference{{
							APIVersion: "taskgate.dev/v1alpha1", Kind: "Task", Name: "migrate", UID: "uid-1",
							Controller: new(true), BlockOwnerDeletion: new(true),
						}},
					},
					Spec: pipelinev1.PipelineRunSpec{
						PipelineSpec: &pipelinev1.PipelineSpec{
							Tasks: []pipelinev1.PipelineTask{{
								Name:    "run",
								Retries: 2,
								TaskSpec: &pipelinev1.EmbeddedTask{TaskSpec: pipelinev1.TaskSpec{
									Steps: []pipelinev1.Step{{
										Name:       "main",
										Image:      "registry.example.com/shop/web@sha256:abc",
										Command:    []string{"/bin/sh", "-c"},
										Args:       []string{"bundle exec rake db:migrate"},
										WorkingDir: "/workspace",
										Env: []corev1.EnvVar{
											{Name: "RAILS_ENV", Value: "production"},
											{Name: "SERVICE_BINDING_ROOT", Value: "/bindings"},
											{Name: "VCAP_SERVICES", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
												LocalObjectReference: corev1.LocalObjectReference{Name: "web-vcap"}, Key: "VCAP_SERVICES"}}},
										},
										EnvFrom: []corev1.EnvFromSource{{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "web-config"}}}},
										ComputeResources: corev1.ResourceRequirements{
											Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m"), corev1.ResourceMemory: resource.MustParse("1Gi")},
											Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m"), corev1.ResourceMemory: resource.MustParse("1Gi")},
										},
										VolumeMounts: []corev1.VolumeMount{{Name: "binding-db", MountPath: "/bindings/db", ReadOnly: true}},
										SecurityContext: &corev1.SecurityContext{
											AllowPrivilegeEscalation: new(false),
											Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
										},
									}},
									Volumes: []corev1.Volume{{Name: "binding-db", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "db-creds"}}}},
								}},
							}},
						},
						Timeouts: &pipelinev1.TimeoutFields{
							Pipeline: &metav1.Duration{Duration: 2 * time.Hour},
							Tasks:    &metav1.Duration{Duration: 2 * time.Hour},
						},
						TaskRunTemplate: pipelinev1.PipelineTaskRunTemplate{
							ServiceAccountName: "web-runner",
							PodTemplate: &pod.PodTemplate{
								SecurityContext:  &corev1.PodSecurityContext{RunAsNonRoot: new(true), SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}},
								ImagePullSecrets: []corev1.LocalObjectReference{{Name: "registry-creds"}},
							},
						},
					},
				}
			},
		},
		{
			name: "timeout 0s is written as 0s, not left to Tekton's 60m default",
			task: func() *v1alpha1.Task {
				t := minimalTask()
				t.Spec.Resolved.Timeout = &metav1.Duration{}
				return t
			},
			want: func() *pipelinev1.PipelineRun {
				pr := minimalPipelineRun()
				pr.Spec.Timeouts = &pipelinev1.TimeoutFields{Pipeline: &metav1.Duration{}, Tasks: &metav1.Duration{}}
				return pr
			},
		},
		{
			name: "no resolved timeout runs without a limit",
			task: func() *v1alpha1.Task {
				t := minimalTask()
				t.Spec.Resolved.Timeout = nil
				return t
			},
			want: func() *pipelinev1.PipelineRun {
				pr := minimalPipelineRun()
				pr.Spec.Timeouts = &pipelinev1.TimeoutFields{Pipeline: &metav1.Duration{}, Tasks: &metav1.Duration{}}
				return pr
			},
		},
		{
			name: "retries",
			task: func() *v1alpha1.Task {
				t := minimalTask()
				t.Spec.Retries = new(int32(3))
				return t
			},
			want: func() *pipelinev1.PipelineRun {
				pr := minimalPipelineRun()
				pr.Spec.PipelineSpec.Tasks[0].Retries = 3
				return pr
			},
		},
		{
			name: "retries 0",
			task: func() *v1alpha1.Task {
				t := minimalTask()
				t.Spec.Retries = new(int32(0))
				return t
			},
			want: minimalPipelineRun,
		},
		{
			name: "allowed annotations reach the pod, never last-applied or taskgate's",
			task: func() *v1alpha1.Task {
				t := minimalTask()
				t.Annotations = map[string]string{
					"kubectl.kubernetes.io/last-applied-configuration": `{"kind":"Task"}`,
					"taskgate.dev/policy":                              "set default timeout=30m",
					"kwok.x-k8s.io/exit-code":                          "127",
					"prometheus.io/scrape":                             "false",
					"example.com/owner":                                "team-a",
				}
				return t
			},
			policy: podMetadataPolicy,
			want: func() *pipelinev1.PipelineRun {
				pr := minimalPipelineRun()
				pr.Annotations = map[string]string{
					"kwok.x-k8s.io/exit-code": "127",
					"example.com/owner":       "team-a",
				}
				return pr
			},
		},
		{
			name: "by default no annotation or label reaches the pod",
			task: func() *v1alpha1.Task {
				t := minimalTask()
				t.Annotations = map[string]string{"taskgate.dev/policy": "x", "sidecar.istio.io/inject": "false"}
				t.Labels = map[string]string{"team": "a", "taskgate.dev/app": "web"}
				return t
			},
			want: minimalPipelineRun,
		},
		{
			name: "allowed labels reach the pod; security groups and taskgate's own win",
			task: func() *v1alpha1.Task {
				t := minimalTask()
				t.Labels = map[string]string{
					"team":                 "a",
					"example.com/tier":     "batch",
					"tier":                 "dropped",
					"taskgate.dev/sg-db":   "true",
					"taskgate.dev/task-id": "99",
				}
				t.Spec.Resolved.PodLabels = map[string]string{"taskgate.dev/sg-public-egress": "true"}
				return t
			},
			policy: podMetadataPolicy,
			want: func() *pipelinev1.PipelineRun {
				pr := minimalPipelineRun()
				pr.Labels["team"] = "a"
				pr.Labels["example.com/tier"] = "batch"
				pr.Labels["taskgate.dev/sg-public-egress"] = "true"
				return pr
			},
		},
		{
			name: "taskgate's labels win over resolved podLabels",
			task: func() *v1alpha1.Task {
				t := minimalTask()
				t.Spec.Resolved.PodLabels = map[string]string{"taskgate.dev/task-id": "99", "taskgate.dev/app": "other"}
				return t
			},
			want: minimalPipelineRun,
		},
		{
			name: "pull secrets alone make a pod template",
			task: func() *v1alpha1.Task {
				t := minimalTask()
				t.Spec.Resolved.ImagePullSecrets = []corev1.LocalObjectReference{{Name: "registry-creds"}}
				return t
			},
			want: func() *pipelinev1.PipelineRun {
				pr := minimalPipelineRun()
				pr.Spec.TaskRunTemplate.PodTemplate = &pod.PodTemplate{ImagePullSecrets: []corev1.LocalObjectReference{{Name: "registry-creds"}}}
				return pr
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p *policy.Policy
			if tt.policy != nil {
				p = tt.policy(t)
			}
			got, err := BuildPipelineRun(tt.task(), p)
			if err != nil {
				t.Fatalf("BuildPipelineRun() error = %v", err)
			}
			if diff := cmp.Diff(tt.want(), got); diff != "" {
				t.Errorf("BuildPipelineRun() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestBuildPipelineRunIsStable(t *testing.T) {
	task := fullTask()
	task.Annotations = map[string]string{"example.com/a": "1", "example.com/b": "2", "taskgate.dev/x": "3"}
	task.Labels = map[string]string{"team": "a", "example.com/b": "2"}
	first, err := BuildPipelineRun(task, podMetadataPolicy(t))
	if err != nil {
		t.Fatal(err)
	}
	second, err := BuildPipelineRun(task, podMetadataPolicy(t))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(first, second) {
		t.Errorf("two builds of the same Task differ:\n%s", cmp.Diff(first, second))
	}

	// The PipelineRun shares no memory with the Task.
	task.Spec.Resolved.Env[0].Value = "changed"
	task.Spec.Resolved.PodSecurityContext.RunAsNonRoot = new(false)
	if !reflect.DeepEqual(first, second) || first.Spec.PipelineSpec.Tasks[0].TaskSpec.Steps[0].Env[0].Value != "production" {
		t.Errorf("changing the Task changed a built PipelineRun")
	}
}

func TestBuildPipelineRunErrors(t *testing.T) {
	tests := []struct {
		name    string
		task    func() *v1alpha1.Task
		wantErr string
		// prefix: the rest of the message is apimachinery's wording.
		prefix bool
	}{
		{
			name:    "nil task",
			task:    func() *v1alpha1.Task { return nil },
			wantErr: "build pipelinerun: task is nil",
		},
		{
			name: "not resolved",
			task: func() *v1alpha1.Task {
				t := minimalTask()
				t.Spec.Resolved = nil
				return t
			},
			wantErr: "build pipelinerun for task shop/migrate: spec.resolved is not set; the admission webhook writes it when the Task is created",
		},
		{
			name: "no ID yet",
			task: func() *v1alpha1.Task {
				t := minimalTask()
				t.Status.ID = 0
				return t
			},
			wantErr: "build pipelinerun for task shop/migrate: status.id is not assigned yet",
		},
		{
			name: "no UID",
			task: func() *v1alpha1.Task {
				t := minimalTask()
				t.UID = ""
				return t
			},
			wantErr: "build pipelinerun for task shop/migrate: task has no uid to own the pipelinerun",
		},
		{
			name: "negative timeout",
			task: func() *v1alpha1.Task {
				t := minimalTask()
				t.Spec.Resolved.Timeout = &metav1.Duration{Duration: -time.Minute}
				return t
			},
			wantErr: "build pipelinerun for task shop/migrate: spec.resolved.timeout -1m0s is negative",
		},
		{
			name: "task name too long for a label value",
			task: func() *v1alpha1.Task {
				t := minimalTask()
				t.Name = strings.Repeat("a", 64)
				return t
			},
			wantErr: "build pipelinerun for task shop/" + strings.Repeat("a", 64) +
				`: label taskgate.dev/task value "` + strings.Repeat("a", 64) + `": must be no more than 63`,
			prefix: true,
		},
		{
			name: "invalid podLabels key",
			task: func() *v1alpha1.Task {
				t := minimalTask()
				t.Spec.Resolved.PodLabels = map[string]string{"bad key": "true"}
				return t
			},
			wantErr: `build pipelinerun for task shop/migrate: label key "bad key": name part must consist of alphanumeric characters`,
			prefix:  true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := BuildPipelineRun(tt.task(), nil)
			if err == nil {
				t.Fatalf("BuildPipelineRun() = %v, want error %q", got, tt.wantErr)
			}
			if got := err.Error(); got != tt.wantErr && !(tt.prefix && strings.HasPrefix(got, tt.wantErr)) {
				t.Errorf("BuildPipelineRun() error =\n%s\nwant\n%s", err, tt.wantErr)
			}
		})
	}
}

func TestCancelPatch(t *testing.T) {
	const want = `[{"op":"add","path":"/spec/status","value":"Cancelled"}]`
	if got := string(CancelPatch()); got != want {
		t.Errorf("CancelPatch() = %s, want %s", got, want)
	}

	// It applies to a PipelineRun that has no spec.status yet, which is why
	// it uses add and not replace, and it changes nothing else.
	pr, err := BuildPipelineRun(fullTask(), nil)
	if err != nil {
		t.Fatal(err)
	}
	want2 := pr.DeepCopy()
	want2.Spec.Status = pipelinev1.PipelineRunSpecStatusCancelled
	if diff := cmp.Diff(want2, applyJSONPatch(t, pr, CancelPatch())); diff != "" {
		t.Errorf("patched PipelineRun mismatch (-want +got):\n%s", diff)
	}
}

func TestRecordedPatch(t *testing.T) {
	const want = `[{"op":"add","path":"/metadata/labels/taskgate.dev~1run-recorded","value":"true"}]`
	if got := string(RecordedPatch()); got != want {
		t.Errorf("RecordedPatch() = %s, want %s", got, want)
	}

	// It adds the one label to the runs' labels, which always exist, and
	// changes nothing else.
	pr, err := BuildPipelineRun(fullTask(), nil)
	if err != nil {
		t.Fatal(err)
	}
	wantPR := pr.DeepCopy()
	wantPR.Labels[v1alpha1.LabelRunRecorded] = "true"
	if diff := cmp.Diff(wantPR, applyJSONPatch(t, pr, RecordedPatch())); diff != "" {
		t.Errorf("patched PipelineRun mismatch (-want +got):\n%s", diff)
	}
	tr := &pipelinev1.TaskRun{ObjectMeta: metav1.ObjectMeta{Name: "migrate-run", Labels: map[string]string{v1alpha1.LabelTask: "migrate", "tekton.dev/pipelineRun": "migrate"}}}
	wantTR := tr.DeepCopy()
	wantTR.Labels[v1alpha1.LabelRunRecorded] = "true"
	if diff := cmp.Diff(wantTR, applyJSONPatch(t, tr, RecordedPatch())); diff != "" {
		t.Errorf("patched TaskRun mismatch (-want +got):\n%s", diff)
	}
}

// applyJSONPatch returns obj with the JSON patch p applied, as the API
// server applies it.
func applyJSONPatch[T any](t *testing.T, obj *T, p []byte) *T {
	t.Helper()
	doc, err := json.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	decoded, err := jsonpatch.DecodePatch(p)
	if err != nil {
		t.Fatalf("decoding patch %s: %v", p, err)
	}
	patched, err := decoded.Apply(doc)
	if err != nil {
		t.Fatalf("applying patch %s: %v", p, err)
	}
	got := new(T)
	if err := json.Unmarshal(patched, got); err != nil {
		t.Fatal(err)
	}
	return got
}
