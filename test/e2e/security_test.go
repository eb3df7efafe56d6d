package e2e

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	admissionregv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/taskgate/taskgate/api/v1alpha1"
	"github.com/taskgate/taskgate/inherit"
	"github.com/taskgate/taskgate/test/localcluster"
)

// TestTaskCannotReachAnotherNamespace: an App, and the Secrets its
// bindings name, are only ever looked up in the Task's own namespace.
func TestTaskCannotReachAnotherNamespace(t *testing.T) {
	c := newClient(t)
	nsA, nsB := newNamespace(t, c), newNamespace(t, c)
	newApp(t, c, nsA, "shop")
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: nsA, Name: "shop-db"},
		StringData: map[string]string{"password": "only-in-" + nsA}}
	if err := c.Create(context.Background(), secret); err != nil {
		t.Fatalf("creating Secret: %v", err)
	}

	denials := []struct{ name, ns, yaml, want string }{{
		name: "an App of another namespace, by name",
		ns:   nsB,
		yaml: "apiVersion: taskgate.dev/v1alpha1\nkind: Task\nmetadata: {name: t}\nspec: {appRef: {name: shop}, command: date}\n",
		want: fmt.Sprintf(`spec.appRef.name: Invalid value: "shop": App shop does not exist in namespace %s; create the App first`, nsB),
	}, {
		name: "an App of another namespace, by namespace",
		ns:   nsB,
		yaml: fmt.Sprintf("apiVersion: taskgate.dev/v1alpha1\nkind: Task\nmetadata: {name: t}\nspec: {appRef: {name: shop, namespace: %s}, command: date}\n", nsA),
		want: `unknown field "spec.appRef.namespace"`,
	}, {
		name: "a Secret of another namespace",
		ns:   nsB,
		yaml: fmt.Sprintf("apiVersion: taskgate.dev/v1alpha1\nkind: App\nmetadata: {name: thief}\nspec: {image: registry.example.com/x:v1, serviceBindings: [{name: db, secretName: %s/shop-db}]}\n", nsA),
		want: fmt.Sprintf(`spec.serviceBindings[0].secretName: Invalid value: "%s/shop-db"`, nsA),
	}}
	for _, tt := range denials {
		t.Run(tt.name, func(t *testing.T) {
			out, err := kubectl(t, tt.yaml, "create", "-n", tt.ns, "-f", "-")
			if err == nil || !strings.Contains(out, tt.want) {
				t.Fatalf("kubectl create: err=%v\n%s\nwant it to contain:\n%s", err, out, tt.want)
			}
		})
	}

	t.Run("a binding to a Secret that exists only elsewhere", func(t *testing.T) {
		app := newApp(t, c, nsB, "shop", func(app *v1alpha1.App) {
			app.Spec.ServiceBindings = []v1alpha1.ServiceBinding{{Name: "db", SecretName: "shop-db"}}
		})
		eventually(t, time.Minute, "the App to report its missing Secret", func() (bool, error) {
			if err := c.Get(context.Background(), client.ObjectKeyFromObject(app), app); err != nil {
				return false, err
			}
			cond := meta.FindStatusCondition(app.Status.Conditions, "Ready")
			return cond != nil && cond.Reason == "SecretNotFound" && cond.ObservedGeneration == app.Generation, fmt.Errorf("Ready condition %+v", cond)
		})
		vcap := &corev1.Secret{}
		if err := c.Get(context.Background(), client.ObjectKey{Namespace: nsB, Name: inherit.VCAPSecretName("shop")}, vcap); err != nil {
			t.Fatalf("reading the VCAP_SERVICES Secret: %v", err)
		}
		for key, value := range vcap.Data {
			if strings.Contains(string(value), "only-in-"+nsA) {
				t.Fatalf("VCAP_SERVICES Secret key %s in %s holds %s's credentials: %s", key, nsB, nsA, value)
			}
		}
		task := waitForState(t, c, newTask(t, c, app, "migrate", nil), v1alpha1.TaskStateSucceeded, 2*time.Minute)
		pod := &corev1.Pod{}
		if err := c.Get(context.Background(), client.ObjectKey{Namespace: nsB, Name: task.Status.PodName}, pod); err != nil {
			t.Fatalf("reading the Task's pod: %v", err)
		}
		// A pod's volumes name Secrets of its own namespace: the binding's
		// projects its Secret and the App's VCAP_SERVICES Secret.
		var secrets []string
		for _, v := range pod.Spec.Volumes {
			if v.Secret != nil {
				secrets = append(secrets, v.Secret.SecretName)
			}
			if v.Projected != nil {
				for _, p := range v.Projected.Sources {
					if p.Secret != nil {
						secrets = append(secrets, p.Secret.Name)
					}
				}
			}
		}
		slices.Sort(secrets)
		if want := []string{"shop-db", inherit.VCAPSecretName("shop")}; pod.Namespace != nsB || !slices.Equal(secrets, want) {
			t.Fatalf("pod %s/%s mounts Secrets %v, want %v of %s", pod.Namespace, pod.Name, secrets, want, nsB)
		}
	})
}

// TestTaskRunsAsItsAppsServiceAccount: a Task has no field for a service
// account, and one written into spec.resolved is replaced or denied.
func TestTaskRunsAsItsAppsServiceAccount(t *testing.T) {
	c := newClient(t)
	ns := newNamespace(t, c)
	for _, name := range []string{"shop", "admin"} {
		if err := c.Create(context.Background(), &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}); err != nil {
			t.Fatalf("creating ServiceAccount %s: %v", name, err)
		}
	}
	mustKubectl(t, "apiVersion: taskgate.dev/v1alpha1\nkind: App\nmetadata: {name: shop}\nspec: {image: registry.example.com/shop/web:v1, command: [/cnb/lifecycle/launcher], args: [run], serviceAccountName: shop}\n", "create", "-n", ns, "-f", "-")

	out, err := kubectl(t, "apiVersion: taskgate.dev/v1alpha1\nkind: Task\nmetadata: {name: own}\nspec: {appRef: {name: shop}, serviceAccountName: admin}\n", "create", "-n", ns, "-f", "-")
	if want := `unknown field "spec.serviceAccountName"`; err == nil || !strings.Contains(out, want) {
		t.Fatalf("a Task naming its service account: err=%v\n%s\nwant %q", err, out, want)
	}
	forged := "apiVersion: taskgate.dev/v1alpha1\nkind: Task\nmetadata: {name: forged}\nspec: {appRef: {name: shop}, resolved: {image: registry.example.com/shop/web:v1, args: [run], serviceAccountName: admin}}\n"
	withoutWebhooks(t, c, &admissionregv1.MutatingWebhookConfiguration{}, func() {
		out, err = kubectl(t, forged, "create", "-n", ns, "-f", "-")
	})
	if want := `spec.resolved: Forbidden: must be the configuration taskgate resolves from App shop; leave it unset`; err == nil || !strings.Contains(out, want) {
		t.Fatalf("a forged service account past the mutating webhook: err=%v\n%s\nwant %q", err, out, want)
	}

	// Through both webhooks the forged value is replaced by the App's.
	mustKubectl(t, forged, "create", "-n", ns, "-f", "-")
	task := waitForState(t, c, &v1alpha1.Task{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "forged"}}, v1alpha1.TaskStateSucceeded, 2*time.Minute)
	pr := &pipelinev1.PipelineRun{}
	if err := c.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: task.Status.PipelineRunName}, pr); err != nil {
		t.Fatalf("reading the PipelineRun: %v", err)
	}
	pod := &corev1.Pod{}
	if err := c.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: task.Status.PodName}, pod); err != nil {
		t.Fatalf("reading the pod: %v", err)
	}
	if task.Spec.Resolved.ServiceAccountName != "shop" || pr.Spec.TaskRunTemplate.ServiceAccountName != "shop" || pod.Spec.ServiceAccountName != "shop" {
		t.Fatalf("service accounts: resolved %q, PipelineRun %q, pod %q; want the App's, shop, everywhere",
			task.Spec.Resolved.ServiceAccountName, pr.Spec.TaskRunTemplate.ServiceAccountName, pod.Spec.ServiceAccountName)
	}
}

// TestTaskGetsNoPowerOverItsNode: no field of a Task or an App, and no
// forged spec.resolved, gives a Task's pod privileged mode, a hostPath
// volume, the host's network or its PID namespace, even with the webhooks
// bypassed.
func TestTaskGetsNoPowerOverItsNode(t *testing.T) {
	c := newClient(t)
	ns := newNamespace(t, c)
	app := newApp(t, c, ns, "shop")

	task := func(name, spec string) string {
		return "apiVersion: taskgate.dev/v1alpha1\nkind: Task\nmetadata: {name: " + name + "}\nspec: {appRef: {name: shop}, command: date" + spec + "}\n"
	}
	forgedResolved := ", resolved: {image: registry.example.com/shop/web:v1, command: [/bin/sh, -c, date], securityContext: {privileged: true}, " +
		"volumes: [{name: root, hostPath: {path: /}}], volumeMounts: [{name: root, mountPath: /host}]}"
	denials := []struct{ name, yaml, want string }{
		{"hostNetwork on a Task", task("a", ", hostNetwork: true"), `unknown field "spec.hostNetwork"`},
		{"hostPID on a Task", task("b", ", hostPID: true"), `unknown field "spec.hostPID"`},
		{"a security context on a Task", task("c", ", securityContext: {privileged: true}"), `unknown field "spec.securityContext"`},
		{"volumes on a Task", task("d", ", volumes: [{name: root, hostPath: {path: /}}]"), `unknown field "spec.volumes"`},
		{"hostNetwork on an App", "apiVersion: taskgate.dev/v1alpha1\nkind: App\nmetadata: {name: net}\nspec: {image: registry.example.com/x:v1, hostNetwork: true}\n", `unknown field "spec.hostNetwork"`},
		{"hostPID in an App's pod security context", "apiVersion: taskgate.dev/v1alpha1\nkind: App\nmetadata: {name: pid}\nspec: {image: registry.example.com/x:v1, podSecurityContext: {hostPID: true}}\n", `unknown field "spec.podSecurityContext.hostPID"`},
		{"a privileged App", "apiVersion: taskgate.dev/v1alpha1\nkind: App\nmetadata: {name: root}\nspec: {image: registry.example.com/x:v1, securityContext: {privileged: true}}\n",
			`spec.securityContext.privileged: Forbidden: privileged is not allowed for Tasks by cluster policy tasks.allowPrivileged`},
	}
	for _, tt := range denials {
		t.Run(tt.name, func(t *testing.T) {
			out, err := kubectl(t, tt.yaml, "create", "-n", ns, "-f", "-")
			if err == nil || !strings.Contains(out, tt.want) {
				t.Fatalf("kubectl create: err=%v\n%s\nwant it to contain:\n%s", err, out, tt.want)
			}
		})
	}

	t.Run("forged past the mutating webhook", func(t *testing.T) {
		var out string
		var err error
		withoutWebhooks(t, c, &admissionregv1.MutatingWebhookConfiguration{}, func() {
			out, err = kubectl(t, task("forged", forgedResolved), "create", "-n", ns, "-f", "-")
		})
		if want := `spec.resolved: Forbidden: must be the configuration taskgate resolves from App shop; leave it unset`; err == nil || !strings.Contains(out, want) {
			t.Fatalf("err=%v\n%s\nwant %q", err, out, want)
		}
	})

	t.Run("past both webhooks", func(t *testing.T) {
		// With no webhook at all the API server stores what it is given;
		// the reconciler refuses to run it.
		withoutWebhooks(t, c, &admissionregv1.ValidatingWebhookConfiguration{}, func() {
			withoutWebhooks(t, c, &admissionregv1.MutatingWebhookConfiguration{}, func() {
				mustKubectl(t, task("forged", forgedResolved), "create", "-n", ns, "-f", "-")
				mustKubectl(t, task("unresolved", ""), "create", "-n", ns, "-f", "-")
			})
		})
		wants := map[string]string{
			"forged": "Task refused: [spec.resolved.securityContext.privileged: Forbidden: privileged is not allowed for Tasks by cluster policy tasks.allowPrivileged; remove it or ask a cluster admin, " +
				"spec.resolved.volumes[0].hostPath: Forbidden: hostPath is not allowed for Tasks by cluster policy tasks.allowPrivileged; remove it or ask a cluster admin]",
			"unresolved": "Task refused: spec.resolved: Required value: the Task was admitted without taskgate's mutating webhook; delete it and create it again",
		}
		for name, want := range wants {
			got := waitForState(t, c, &v1alpha1.Task{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}, v1alpha1.TaskStateFailed, time.Minute)
			if cond := succeededCondition(t, got); got.Status.FailureReason != want || cond.Reason != "Refused" {
				t.Errorf("Task %s: failure %q, reason %q; want %q, Refused", name, got.Status.FailureReason, cond.Reason, want)
			}
			err := c.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, &pipelinev1.PipelineRun{})
			if !apierrors.IsNotFound(err) {
				t.Errorf("PipelineRun of refused Task %s: %v; want none", name, err)
			}
		}
	})

	t.Run("an admitted Task's pod", func(t *testing.T) {
		got := waitForState(t, c, newTask(t, c, app, "plain", nil), v1alpha1.TaskStateSucceeded, 2*time.Minute)
		pod := &corev1.Pod{}
		if err := c.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: got.Status.PodName}, pod); err != nil {
			t.Fatalf("reading the pod: %v", err)
		}
		if pod.Spec.HostNetwork || pod.Spec.HostPID || pod.Spec.HostIPC {
			t.Errorf("pod shares the host's namespaces: network %t, PID %t, IPC %t", pod.Spec.HostNetwork, pod.Spec.HostPID, pod.Spec.HostIPC)
		}
		for _, v := range pod.Spec.Volumes {
			if v.HostPath != nil {
				t.Errorf("pod has hostPath volume %s", v.Name)
			}
		}
		for _, ctr := range append(pod.Spec.InitContainers, pod.Spec.Containers...) {
			if sc := ctr.SecurityContext; sc != nil && sc.Privileged != nil && *sc.Privileged {
				t.Errorf("container %s is privileged", ctr.Name)
			}
		}
	})
}

// TestCapAndTTLDeleteOnlyTheirOwn: the cap counts one App's finished Tasks
// in one namespace, and a TTL deletes only the Task it belongs to.
func TestCapAndTTLDeleteOnlyTheirOwn(t *testing.T) {
	c := newClient(t)
	nsA, nsB := newNamespace(t, c), newNamespace(t, c)
	t.Cleanup(func() { resetPolicy(t, c) })
	mustKubectl(t, policyConfigMap(fmt.Sprintf(`apiVersion: taskgate.dev/v1alpha1
kind: Policy
tasks:
  cap:
    overrides: [{name: e2e-own, namespaces: [%s], appSelector: {matchLabels: {tier: capped}}, maxTasks: 2}]`, nsA)), "apply", "-f", "-")
	time.Sleep(2 * time.Second) // the policy reloads within a second
	capped := func(ns, name string) *v1alpha1.App {
		return newApp(t, c, ns, name, func(app *v1alpha1.App) { app.Labels = map[string]string{"tier": "capped"} })
	}
	appA, otherA, appB := capped(nsA, "shop"), newApp(t, c, nsA, "other"), capped(nsB, "shop")

	// The oldest Task of the capped App is still running when the cap acts.
	running := newTask(t, c, appA, "running", map[string]string{localcluster.AnnotationRunTime: "10m"}, func(task *v1alpha1.Task) {
		task.Spec.TTLSecondsAfterFinished = new(int32(1))
	})
	waitForState(t, c, running, v1alpha1.TaskStateRunning, time.Minute)
	for i := range 5 {
		waitForState(t, c, newTask(t, c, appA, fmt.Sprintf("quick-%d", i), nil), v1alpha1.TaskStateSucceeded, time.Minute)
	}
	for _, app := range []*v1alpha1.App{otherA, appB} {
		for i := range 3 {
			newTask(t, c, app, fmt.Sprintf("%s-%d", app.Name, i), nil)
		}
	}
	// A TTL of one second, on a Task whose name is also used in nsB.
	expiring := newTask(t, c, otherA, "expiring", nil, func(task *v1alpha1.Task) { task.Spec.TTLSecondsAfterFinished = new(int32(1)) })
	namesake := newTask(t, c, appB, "expiring", nil)
	waitForState(t, c, namesake, v1alpha1.TaskStateSucceeded, time.Minute)

	want := map[string][]string{
		nsA: {"other-0", "other-1", "other-2", "quick-3", "quick-4", "running"},
		nsB: {"expiring", "shop-0", "shop-1", "shop-2"},
	}
	remaining := func(ns string) ([]string, error) {
		var tasks v1alpha1.TaskList
		if err := c.List(context.Background(), &tasks, client.InNamespace(ns)); err != nil {
			return nil, err
		}
		var names []string
		for _, task := range tasks.Items {
			names = append(names, task.Name)
		}
		slices.Sort(names)
		return names, nil
	}
	eventually(t, time.Minute, "the cap and the TTL to act", func() (bool, error) {
		for ns, w := range want {
			got, err := remaining(ns)
			if err != nil || !slices.Equal(got, w) {
				return false, fmt.Errorf("%s holds %v (%v), want %v", ns, got, err, w)
			}
		}
		return true, nil
	})
	if err := c.Get(context.Background(), client.ObjectKeyFromObject(expiring), &v1alpha1.Task{}); !apierrors.IsNotFound(err) {
		t.Fatalf("expired Task %s/%s: %v, want it deleted", nsA, expiring.Name, err)
	}
	// Nothing more goes once the TTL has passed for every finished Task's
	// neighbours: a few reconciles later the same Tasks remain.
	time.Sleep(5 * time.Second)
	for ns, w := range want {
		if got, err := remaining(ns); err != nil || !slices.Equal(got, w) {
			t.Fatalf("later, %s holds %v (%v), want %v", ns, got, err, w)
		}
	}
	var runs pipelinev1.PipelineRunList
	if err := c.List(context.Background(), &runs, client.InNamespace(nsB)); err != nil || len(runs.Items) != len(want[nsB]) {
		t.Fatalf("%s has %d PipelineRuns (%v), want one per Task, %d", nsB, len(runs.Items), err, len(want[nsB]))
	}
}
