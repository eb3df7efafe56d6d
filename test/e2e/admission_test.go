package e2e

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	admissionregv1 "k8s.io/api/admissionregistration/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/taskgate/taskgate/api/v1alpha1"
	"github.com/taskgate/taskgate/policy"
)

const boundAppYAML = `apiVersion: taskgate.dev/v1alpha1
kind: App
metadata: {name: shop}
spec:
  image: registry.example.com/shop/web:v1
  command: ["/cnb/lifecycle/launcher"]
  args: ["bundle", "exec", "puma"]
  env: [{name: RAILS_ENV, value: production}, {name: LOG_LEVEL, value: info}]
  resources:
    requests: {cpu: 250m, memory: 512Mi}
    limits: {memory: 512Mi}
  serviceBindings: [{name: db, secretName: shop-db}]
  securityGroups: [postgres-egress]
---
apiVersion: v1
kind: Secret
metadata: {name: shop-db}
stringData: {type: postgresql, host: db.example.com, password: s3cret}
`

func TestTaskInheritsItsApp(t *testing.T) {
	c := newClient(t)
	ns := newNamespace(t, c)
	bindSecurityGroups(t, c, ns, "postgres-egress")
	mustKubectl(t, boundAppYAML, "apply", "-n", ns, "-f", "-")
	out := mustKubectl(t, `apiVersion: taskgate.dev/v1alpha1
kind: Task
metadata: {name: migrate}
spec:
  appRef: {name: shop}
  command: bundle exec rake db:migrate
  memory: 1Gi
  env: [{name: LOG_LEVEL, value: debug}]
  resolved: {image: evil.example.com/miner, securityContext: {privileged: true}}
`, "create", "-n", ns, "-f", "-")
	if !strings.Contains(out, "Warning: spec.resolved is written by taskgate; the value supplied was replaced") {
		t.Fatalf("no warning that the supplied resolved configuration was replaced:\n%s", out)
	}
	task := &v1alpha1.Task{}
	if err := c.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "migrate"}, task); err != nil {
		t.Fatalf("reading Task: %v", err)
	}
	r := task.Spec.Resolved
	if r.Image != "registry.example.com/shop/web:v1" || !slices.Equal(r.Command, []string{"/bin/sh", "-c", "bundle exec rake db:migrate"}) || len(r.Args) != 0 {
		t.Fatalf("image/command = %s %v %v", r.Image, r.Command, r.Args)
	}
	env := map[string]string{}
	for _, e := range r.Env {
		env[e.Name] = e.Value
		if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
			env[e.Name] = "secret:" + e.ValueFrom.SecretKeyRef.Name + "/" + e.ValueFrom.SecretKeyRef.Key
		}
	}
	want := map[string]string{
		"RAILS_ENV": "production", "LOG_LEVEL": "debug", "SERVICE_BINDING_ROOT": "/bindings",
		"VCAP_SERVICES": "secret:shop-vcap-services/VCAP_SERVICES",
	}
	for k, v := range want {
		if env[k] != v {
			t.Fatalf("env %s = %q, want %q (all: %v)", k, env[k], v, env)
		}
	}
	if len(r.Volumes) != 1 || r.Volumes[0].Projected == nil || len(r.Volumes[0].Projected.Sources) != 2 ||
		r.Volumes[0].Projected.Sources[0].Secret == nil || r.Volumes[0].Projected.Sources[0].Secret.Name != "shop-db" ||
		len(r.VolumeMounts) != 1 || r.VolumeMounts[0].MountPath != "/bindings/db" || !r.VolumeMounts[0].ReadOnly {
		t.Fatalf("binding not projected: volumes %+v mounts %+v", r.Volumes, r.VolumeMounts)
	}
	mem := r.Resources.Requests.Memory().String() + "/" + r.Resources.Limits.Memory().String()
	if mem != "1Gi/1Gi" || r.Resources.Requests.Cpu().String() != "250m" {
		t.Fatalf("resources = %+v; want memory 1Gi/1Gi (request and limit together) and the App's cpu", r.Resources)
	}
	if r.PodLabels["taskgate.dev/sg-postgres-egress"] != "true" || r.PodLabels[v1alpha1.LabelApp] != "shop" {
		t.Fatalf("pod labels = %v", r.PodLabels)
	}
	sc := r.SecurityContext
	if sc == nil || sc.Privileged != nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
		sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) {
		t.Fatalf("security context = %+v, want the hardened default", sc)
	}
	if r.Timeout == nil || r.Timeout.Duration != time.Hour {
		t.Fatalf("timeout = %v, want the policy default 1h", r.Timeout)
	}
	if task.Labels[v1alpha1.LabelApp] != "shop" || len(task.OwnerReferences) != 1 || task.OwnerReferences[0].Kind != "App" {
		t.Fatalf("labels %v owners %+v", task.Labels, task.OwnerReferences)
	}

	// The reconciler keeps VCAP_SERVICES from the bound Secret, owned by
	// the App, and reports the App Ready.
	eventually(t, 30*time.Second, "the VCAP_SERVICES Secret", func() (bool, error) {
		s := &corev1.Secret{}
		if err := c.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "shop-vcap-services"}, s); err != nil {
			return false, client.IgnoreNotFound(err)
		}
		var vcap map[string][]struct {
			Name        string            `json:"name"`
			Credentials map[string]string `json:"credentials"`
		}
		if err := json.Unmarshal(s.Data["VCAP_SERVICES"], &vcap); err != nil {
			return false, err
		}
		svc := vcap["postgresql"]
		return len(svc) == 1 && svc[0].Name == "db" && svc[0].Credentials["password"] == "s3cret", nil
	})
	app := &v1alpha1.App{}
	eventually(t, 30*time.Second, "the App to be Ready", func() (bool, error) {
		if err := c.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "shop"}, app); err != nil {
			return false, err
		}
		return meta.IsStatusConditionTrue(app.Status.Conditions, "Ready"), nil
	})
}

func TestTaskAdmissionDenials(t *testing.T) {
	c := newClient(t)
	ns := newNamespace(t, c)
	bindSecurityGroups(t, c, ns, "postgres-egress")
	mustKubectl(t, boundAppYAML, "apply", "-n", ns, "-f", "-")
	mustKubectl(t, "apiVersion: taskgate.dev/v1alpha1\nkind: App\nmetadata: {name: bare}\nspec: {image: registry.example.com/bare:v1}\n", "apply", "-n", ns, "-f", "-")
	t.Cleanup(func() { resetPolicy(t, c) })
	mustKubectl(t, policyConfigMap("apiVersion: taskgate.dev/v1alpha1\nkind: Policy\ntasks:\n  resources:\n    ceilings: {memory: 2Gi}\n  timeout: {max: 2h}\n  securityGroups: [{name: e2e, groups: [postgres-egress], namespaces: ["+ns+"]}]"), "apply", "-f", "-")
	// Wait for the ceiling to be in force.
	eventually(t, 30*time.Second, "the ceiling policy to load", func() (bool, error) {
		_, err := kubectl(t, "apiVersion: taskgate.dev/v1alpha1\nkind: Task\nmetadata: {name: probe}\nspec: {appRef: {name: shop}, memory: 4Gi}\n", "create", "--dry-run=server", "-n", ns, "-f", "-")
		return err != nil, nil
	})
	task := func(spec string) string {
		return "apiVersion: taskgate.dev/v1alpha1\nkind: Task\nmetadata: {name: t}\nspec: " + spec + "\n"
	}
	tests := []struct{ name, yaml, want string }{{
		name: "unknown App",
		yaml: task("{appRef: {name: nope}}"),
		want: `spec.appRef.name: Invalid value: "nope": App nope does not exist in namespace ` + ns + `; create the App first`,
	}, {
		name: "no start command",
		yaml: task("{appRef: {name: bare}}"),
		want: `spec.command: Required value: no start command: set spec.command on the Task or args on App bare`,
	}, {
		name: "memory above the ceiling",
		yaml: task("{appRef: {name: shop}, memory: 4Gi}"),
		want: `spec.memory: Invalid value: "4Gi": exceeds the cluster ceiling of 2Gi set in policy tasks.resources.ceilings.memory`,
	}, {
		name: "timeout above the maximum",
		yaml: task("{appRef: {name: shop}, timeout: 3h}"),
		want: `spec.timeout: Invalid value: "3h": exceeds the cluster maximum of 2h set in policy tasks.timeout.max; ask for at most 2h`,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := kubectl(t, tt.yaml, "create", "-n", ns, "-f", "-")
			if err == nil || !strings.Contains(out, tt.want) {
				t.Fatalf("kubectl create: err=%v\n%s\nwant it to contain:\n%s", err, out, tt.want)
			}
		})
	}
}

func TestPrivilegedAppDenied(t *testing.T) {
	c := newClient(t)
	ns := newNamespace(t, c)
	out, err := kubectl(t, "apiVersion: taskgate.dev/v1alpha1\nkind: App\nmetadata: {name: root}\nspec: {image: registry.example.com/x:v1, securityContext: {privileged: true}}\n", "create", "-n", ns, "-f", "-")
	want := `spec.securityContext.privileged: Forbidden: privileged is not allowed for Tasks by cluster policy tasks.allowPrivileged`
	if err == nil || !strings.Contains(out, want) {
		t.Fatalf("privileged App: err=%v\n%s\nwant %q", err, out, want)
	}
	out, err = kubectl(t, "apiVersion: taskgate.dev/v1alpha1\nkind: App\nmetadata: {name: badimage}\nspec: {image: 'Registry.Example.com/UPPER:v1'}\n", "create", "-n", ns, "-f", "-")
	if err == nil || !strings.Contains(out, `spec.image: Invalid value: "Registry.Example.com/UPPER:v1": not a valid image reference`) {
		t.Fatalf("bad image: err=%v\n%s", err, out)
	}
}

func TestJobLabelledWithAppGetsItsConfiguration(t *testing.T) {
	c := newClient(t)
	ns := newNamespace(t, c)
	bindSecurityGroups(t, c, ns, "postgres-egress")
	mustKubectl(t, boundAppYAML, "apply", "-n", ns, "-f", "-")
	t.Cleanup(func() { resetPolicy(t, c) })
	mustKubectl(t, policyConfigMap(ttlPolicy(ns, 600)), "apply", "-f", "-")
	waitForJobTTL(t, c, ns, "600")

	cron := `apiVersion: batch/v1
kind: CronJob
metadata: {name: nightly}
spec:
  schedule: "* * * * *"
  jobTemplate:
    metadata:
      labels: {taskgate.dev/app: shop}
    spec:
      template:
        spec:
          restartPolicy: Never
          containers:
          - name: main
            image: registry.example.com/shop/web:v1
            env: [{name: LOG_LEVEL, value: warn}]
`
	mustKubectl(t, cron, "apply", "-n", ns, "-f", "-")
	// Rather than wait up to a minute for the schedule, run it now, as
	// the CronJob controller would.
	mustKubectl(t, "", "create", "job", "nightly-now", "--from=cronjob/nightly", "-n", ns)
	job := &batchv1.Job{}
	if err := c.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "nightly-now"}, job); err != nil {
		t.Fatalf("reading Job: %v", err)
	}
	if ttlOf(job) != "600" {
		t.Fatalf("Job TTL = %s, want the policy's 600", ttlOf(job))
	}
	ctr := job.Spec.Template.Spec.Containers[0]
	env := map[string]string{}
	for _, e := range ctr.Env {
		env[e.Name] = e.Value
	}
	if env["RAILS_ENV"] != "production" || env["LOG_LEVEL"] != "warn" || env["SERVICE_BINDING_ROOT"] != "/bindings" {
		t.Fatalf("env = %v; want the App's RAILS_ENV, the Job's own LOG_LEVEL kept, and the binding root", env)
	}
	if job.Spec.Template.Labels["taskgate.dev/sg-postgres-egress"] != "true" {
		t.Fatalf("pod template labels = %v", job.Spec.Template.Labels)
	}
	if !slices.ContainsFunc(ctr.VolumeMounts, func(m corev1.VolumeMount) bool { return m.MountPath == "/bindings/db" }) {
		t.Fatalf("binding not mounted: %+v", ctr.VolumeMounts)
	}

	// A Job opted out of the policy never reaches the webhook (its
	// objectSelector): neither the App's configuration nor a TTL.
	optedOut := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "opted-out", Labels: map[string]string{
			v1alpha1.LabelApp: "shop", policy.DefaultOptOutLabel: policy.OptOutValue,
		}},
		Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
			RestartPolicy: corev1.RestartPolicyNever,
			Containers:    []corev1.Container{{Name: "main", Image: "registry.example.com/shop/web:v1"}},
		}}},
	}
	if err := c.Create(context.Background(), optedOut); err != nil {
		t.Fatalf("creating the opted-out Job: %v", err)
	}
	if _, sg := optedOut.Spec.Template.Labels["taskgate.dev/sg-postgres-egress"]; ttlOf(optedOut) != "none" || len(optedOut.Spec.Template.Spec.Containers[0].Env) != 0 || sg {
		t.Fatalf("opted-out Job admitted with TTL %s, env %v, pod labels %v; want no TTL and nothing of the App",
			ttlOf(optedOut), optedOut.Spec.Template.Spec.Containers[0].Env, optedOut.Spec.Template.Labels)
	}

	// A Job naming an App that does not exist is admitted, with a warning.
	out := mustKubectl(t, "apiVersion: batch/v1\nkind: Job\nmetadata: {name: orphan, labels: {taskgate.dev/app: gone}}\nspec:\n  template:\n    spec:\n      restartPolicy: Never\n      containers: [{name: main, image: registry.example.com/x:v1}]\n", "create", "-n", ns, "-f", "-")
	if !strings.Contains(out, "Warning: taskgate: App gone not found in namespace "+ns+"; the Job runs without its configuration") {
		t.Fatalf("no warning for a missing App:\n%s", out)
	}
	waitForEvent(t, c, ns, "orphan", "AppNotFound", "App gone not found in namespace "+ns+"; the Job runs without its configuration")
}

// TestResolvedCannotBeSmuggled bypasses the mutating webhook: a Task whose
// spec.resolved is not what inheritance produces is refused by the
// validating webhook, so a privileged pod cannot get in that way.
func TestResolvedCannotBeSmuggled(t *testing.T) {
	c := newClient(t)
	ns := newNamespace(t, c)
	newApp(t, c, ns, "shop")
	var out string
	var err error
	withoutWebhooks(t, c, &admissionregv1.MutatingWebhookConfiguration{}, func() {
		out, err = kubectl(t, `apiVersion: taskgate.dev/v1alpha1
kind: Task
metadata: {name: sneaky}
spec:
  appRef: {name: shop}
  command: date
  resolved: {image: registry.example.com/shop/web:v1, command: [/bin/sh, -c, date], securityContext: {privileged: true}}
`, "create", "-n", ns, "-f", "-")
	})
	want := `spec.resolved: Forbidden: must be the configuration taskgate resolves from App shop; leave it unset`
	if err == nil || !strings.Contains(out, want) {
		t.Fatalf("creating a Task with a forged spec.resolved: err=%v\n%s\nwant %q", err, out, want)
	}
}

// TestDeletingAnAppDeletesItsTasks: as in Kf, a Task belongs to its App,
// and the garbage collector takes its run with it.
func TestDeletingAnAppDeletesItsTasks(t *testing.T) {
	c := newClient(t)
	ns := newNamespace(t, c)
	app := newApp(t, c, ns, "shop")
	task := waitForState(t, c, newTask(t, c, app, "migrate", nil), v1alpha1.TaskStateSucceeded, time.Minute)
	if err := c.Delete(context.Background(), app); err != nil {
		t.Fatalf("deleting App: %v", err)
	}
	eventually(t, 30*time.Second, "the Task and its pod to be collected", func() (bool, error) {
		errTask := c.Get(context.Background(), client.ObjectKeyFromObject(task), &v1alpha1.Task{})
		errPod := c.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: task.Status.PodName}, &corev1.Pod{})
		return apierrors.IsNotFound(errTask) && apierrors.IsNotFound(errPod), nil
	})
}
