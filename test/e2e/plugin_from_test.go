package e2e

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/taskgate/taskgate/api/v1alpha1"
)

// fromKinds is how the plugin lists the kinds --from takes.
const fromKinds = "a Deployment, StatefulSet, DaemonSet or CronJob (deployment/NAME, statefulset/NAME, daemonset/NAME, cronjob/NAME, or deploy, sts, ds, cj)"

// newDeployment creates a one-replica Deployment whose one container,
// web, runs image.
func newDeployment(t *testing.T, c client.Client, ns, name, image string) *appsv1.Deployment {
	t.Helper()
	labels := map[string]string{"app": name}
	replicas := int32(1)
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: image}}},
			},
		},
	}
	if err := c.Create(context.Background(), d); err != nil {
		t.Fatalf("creating Deployment %s: %v", name, err)
	}
	return d
}

// getApp returns App name in ns, or nil when it does not exist.
func getApp(t *testing.T, c client.Client, ns, name string) *v1alpha1.App {
	t.Helper()
	app := &v1alpha1.App{}
	err := c.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, app)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		t.Fatalf("reading App %s: %v", name, err)
	}
	return app
}

// TestPluginRunFrom: run --from creates an App for a Deployment on the
// first run and reuses it after; it never takes over an App that runs
// something else, and a workload that does not exist, or a type that is
// no workload, leaves no App behind.
func TestPluginRunFrom(t *testing.T) {
	c := newClient(t)
	ns := newNamespace(t, c)
	const image = "example.invalid/shop/web:v1"
	newDeployment(t, c, ns, "web", image)

	res := mustKubectlTask(t, ns, "run", "--from", "deployment/web", "-c", "echo hi", "--name", "t1")
	name, id := created(t, res.stdout)
	if want := "app.taskgate.dev/web created (from deployment/web)\nTask " + name + " (ID 1) of App web created\n"; res.stdout != want || id != "1" {
		t.Fatalf("run --from deployment/web: want stdout %q; got %s", want, res)
	}
	// kwok's pods report no image digest, so the Task runs the tag.
	if want := "Warning: no pod of deployment/web reports a digest: the Task runs what " + image + " names when it starts\n"; res.stderr != want {
		t.Fatalf("run --from deployment/web: want stderr %q; got %s", want, res)
	}
	app := getApp(t, c, ns, "web")
	if app == nil {
		t.Fatal("run --from deployment/web created no App web")
	}
	if want := (v1alpha1.AppSpec{From: &v1alpha1.WorkloadRef{Kind: v1alpha1.WorkloadDeployment, Name: "web"}}); !reflect.DeepEqual(app.Spec, want) || len(app.Labels) != 0 {
		t.Fatalf("App web: labels %v, spec %+v; want no labels and spec %+v", app.Labels, app.Spec, want)
	}
	task := getTask(t, c, ns, name)
	if task.Spec.AppRef.Name != "web" || task.Spec.Command != "echo hi" || task.Spec.DisplayName != "t1" || task.Spec.Resolved == nil || task.Spec.Resolved.Image != image {
		t.Fatalf("Task %s: appRef %q, command %q, displayName %q, resolved %+v; want web, echo hi, t1 and image %s",
			name, task.Spec.AppRef.Name, task.Spec.Command, task.Spec.DisplayName, task.Spec.Resolved, image)
	}

	// The second run, by kubectl's short name, reuses App web as it is.
	res = mustKubectlTask(t, ns, "run", "--from", "deploy/web", "-c", "echo again")
	name, _ = created(t, res.stdout)
	if want := "Task " + name + " (ID 2) of App web created\n"; res.stdout != want {
		t.Fatalf("second run --from deploy/web: want stdout %q; got %s", want, res)
	}
	// taskgate writes the App's status; the plugin writes nothing.
	if again := getApp(t, c, ns, "web"); again.Generation != app.Generation || !reflect.DeepEqual(again.Spec, app.Spec) || len(again.Labels) != 0 {
		t.Errorf("the second run changed App web: generation %d, spec %+v, labels %v; was %d, %+v, none", again.Generation, again.Spec, again.Labels, app.Generation, app.Spec)
	}

	// An App of the workload's name that runs something else is left
	// alone; --app names another.
	newDeployment(t, c, ns, "web2", image)
	web2 := newApp(t, c, ns, "web2")
	res = kubectlTask(t, ns, "run", "--from", "deployment/web2", "-c", "true")
	if want := "error: App web2 exists and does not run deployment/web2 (it runs image " + web2.Spec.Image + "): pass --app NAME to create another App for it\n"; res.code != 1 || res.stdout != "" || res.stderr != want {
		t.Fatalf("run --from deployment/web2 with App web2 of an image: want exit 1 and stderr %q; got %s", want, res)
	}
	if again := getApp(t, c, ns, "web2"); again.Generation != web2.Generation || !reflect.DeepEqual(again.Spec, web2.Spec) {
		t.Errorf("run --from deployment/web2 changed App web2: generation %d, spec %+v; was %d, %+v", again.Generation, again.Spec, web2.Generation, web2.Spec)
	}
	res = mustKubectlTask(t, ns, "run", "--from", "deployment/web2", "--app", "web2-tasks", "-c", "true")
	name, _ = created(t, res.stdout)
	if want := "app.taskgate.dev/web2-tasks created (from deployment/web2)\nTask " + name + " (ID 1) of App web2-tasks created\n"; res.stdout != want {
		t.Fatalf("run --from deployment/web2 --app web2-tasks: want stdout %q; got %s", want, res)
	}
	// App web runs the default container, which need not stay web.
	wantFailure(t, kubectlTask(t, ns, "run", "--from", "deployment/web", "--container", "web", "-c", "true"),
		"error: App web exists and does not run container web of deployment/web (it runs the default container of deployment/web): pass --app NAME to create another App for it\n")

	// Kinds by any of kubectl's names, through the server's RESTMapper;
	// a workload that does not exist is refused before any App is made.
	for _, tt := range []struct{ from, want string }{
		{"deployment/missing", "error: deployment/missing does not exist in namespace " + ns + "; create it, or point --from at a workload that exists\n"},
		{"deployments.apps/missing", "error: deployment/missing does not exist in namespace " + ns + "; create it, or point --from at a workload that exists\n"},
		{"sts/missing", "error: statefulset/missing does not exist in namespace " + ns + "; create it, or point --from at a workload that exists\n"},
		{"statefulset/missing", "error: statefulset/missing does not exist in namespace " + ns + "; create it, or point --from at a workload that exists\n"},
		{"ds/missing", "error: daemonset/missing does not exist in namespace " + ns + "; create it, or point --from at a workload that exists\n"},
		{"cj/missing", "error: cronjob/missing does not exist in namespace " + ns + "; create it, or point --from at a workload that exists\n"},
		{"cronjob.v1.batch/missing", "error: cronjob/missing does not exist in namespace " + ns + "; create it, or point --from at a workload that exists\n"},
		{"po/missing", "error: --from po/missing: taskgate runs Tasks from " + fromKinds + ", not a Pod\n"},
		{"job/missing", "error: --from job/missing: taskgate runs Tasks from " + fromKinds + ", not a Job.batch\n"},
		{"rs/missing", "error: --from rs/missing: taskgate runs Tasks from " + fromKinds + ", not a ReplicaSet.apps\n"},
		{"nosuch/missing", `error: --from nosuch/missing: the server has no resource type "nosuch"; name ` + fromKinds + "\n"},
	} {
		res := kubectlTask(t, ns, "run", "--from", tt.from, "-c", "true")
		if res.code != 1 || res.stdout != "" || res.stderr != tt.want {
			t.Errorf("run --from %s: want exit 1 and stderr %q; got %s", tt.from, tt.want, res)
		}
	}
	if getApp(t, c, ns, "missing") != nil {
		t.Error("run --from of a workload that does not exist left App missing behind")
	}

	// The App webhook's refusal passes through as the server gave it.
	res = kubectlTask(t, ns, "run", "--from", "deployment/web", "--app", "web-nope", "--container", "nope", "-c", "true")
	if want := `error: admission webhook "apps.taskgate.dev" denied the request: App.taskgate.dev "web-nope" is invalid: spec.from.container: Not found: "nope": deployment/web has no such container; set spec.from.container to one of web, or leave it empty for web` + "\n"; res.code != 1 || res.stderr != want {
		t.Errorf("run --from deployment/web --container nope: want stderr %q; got %s", want, res)
	}
	if getApp(t, c, ns, "web-nope") != nil {
		t.Error("the refused App web-nope exists")
	}

	var apps v1alpha1.AppList
	if err := c.List(context.Background(), &apps, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, a := range apps.Items {
		names = append(names, a.Name)
	}
	if got := strings.Join(names, ","); got != "web,web2,web2-tasks" {
		t.Fatalf("Apps after the runs: %s; want web,web2,web2-tasks", got)
	}
}

// TestPluginRunFromAsTheUser: run --from reads the workload and creates
// the App as the user, so the user's RBAC decides, and a refusal leaves
// no App behind.
func TestPluginRunFromAsTheUser(t *testing.T) {
	c := newClient(t)
	ns := newNamespace(t, c)
	const user = "from-dev"
	newDeployment(t, c, ns, "web", "example.invalid/shop/web:v1")
	grant(t, c, ns, user, "taskgate", rbacv1.PolicyRule{
		APIGroups: []string{v1alpha1.GroupVersion.Group}, Resources: []string{"apps", "tasks"},
		Verbs: []string{"get", "list", "watch", "create"},
	})
	run := func() pluginResult {
		return kubectlTask(t, ns, "--as", user, "run", "--from", "deployment/web", "-c", "true")
	}

	res := run()
	if want := fmt.Sprintf(`error: reading deployment/web: deployments.apps "web" is forbidden: User %q cannot get resource "deployments" in API group "apps" in the namespace %q`+"\n", user, ns); res.code != 1 || res.stderr != want {
		t.Fatalf("run --from without get on the Deployment: want stderr %q; got %s", want, res)
	}

	grant(t, c, ns, user, "read-web", rbacv1.PolicyRule{
		APIGroups: []string{"apps"}, Resources: []string{"deployments"}, Verbs: []string{"get"},
	})
	// The App webhook reviews the user: an App is a pod template.
	res = run()
	wantFailure(t, res, `admission webhook "apps.taskgate.dev" denied the request: App.taskgate.dev "web" is invalid: spec: `+forbiddenPods(user, ns))
	if getApp(t, c, ns, "web") != nil {
		t.Fatal("the refused App web exists")
	}

	grant(t, c, ns, user, "pods", rbacv1.PolicyRule{
		APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"create"},
	})
	// The webhook keeps a denial for access.DenyCacheTTL (5 s): until it
	// expires the same denial comes back.
	eventually(t, 30*time.Second, "run --from to be allowed", func() (bool, error) {
		res = run()
		if res.code != 0 && !strings.Contains(res.stderr, forbiddenPods(user, ns)) {
			t.Fatalf("run --from with get on the Deployment and create on pods: %s", res)
		}
		return res.code == 0, fmt.Errorf("%s", res)
	})
	if !strings.HasPrefix(res.stdout, "app.taskgate.dev/web created (from deployment/web)\nTask web-") {
		t.Fatalf("run --from with get on the Deployment and create on pods: %s", res)
	}
	if app := getApp(t, c, ns, "web"); app == nil || app.Spec.From == nil || *app.Spec.From != (v1alpha1.WorkloadRef{Kind: v1alpha1.WorkloadDeployment, Name: "web"}) {
		t.Fatalf("App web = %+v", app)
	}
}
