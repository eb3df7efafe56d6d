package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/taskgate/taskgate/api/v1alpha1"
	"github.com/taskgate/taskgate/inherit"
	"github.com/taskgate/taskgate/ociimage"
	"github.com/taskgate/taskgate/test/localcluster"
	"github.com/taskgate/taskgate/test/nodeimage"
)

// versionImage is a shell image pushed to the cluster's registry whose
// /version holds its version, so a process shows which one it runs.
type versionImage struct {
	ref    string // RegistryHost/repository:version, as pods name it
	repo   string // RegistryHost/repository
	digest string // of its manifest
}

// pushVersionImage pushes nodeimage.Busybox, user 1000, with /version
// holding version, as repository:version.
func pushVersionImage(t *testing.T, repository, version string) versionImage {
	t.Helper()
	repo := localcluster.RegistryHost + "/" + repository
	img, err := ociimage.Build(nodeimage.Busybox(repo+":"+version, "1000",
		ociimage.File{Path: "/version", Content: []byte(version + "\n"), Mode: 0o644}))
	if err != nil {
		t.Fatal(err)
	}
	digest, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	// Pushed on the machine's loopback; the node pulls the same
	// repository at RegistryHost.
	ref, err := name.ParseReference(cluster.Registry().Addr + "/" + repository + ":" + version)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img, remote.WithContext(context.Background())); err != nil {
		t.Fatalf("pushing %s: %v", ref, err)
	}
	return versionImage{ref: repo + ":" + version, repo: repo, digest: digest.String()}
}

// fromDeployment is a Deployment of replicas pods whose one container,
// app, sleeps as uid 1000 under the restricted Pod Security Standard.
func fromDeployment(ns, name, image string, replicas int32, mutate ...func(*appsv1.Deployment)) *appsv1.Deployment {
	labels := map[string]string{"app.kubernetes.io/name": name}
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(replicas),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					// sleep, as PID 1, ignores SIGTERM: a rollout should not
					// wait out the default 30 s.
					TerminationGracePeriodSeconds: ptr.To[int64](1),
					SecurityContext: &corev1.PodSecurityContext{
						RunAsNonRoot:   ptr.To(true),
						SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
					},
					Containers: []corev1.Container{{
						Name: "app", Image: image, ImagePullPolicy: corev1.PullIfNotPresent,
						Command: []string{"sleep", "3600"},
						SecurityContext: &corev1.SecurityContext{
							RunAsNonRoot:             ptr.To(true),
							RunAsUser:                ptr.To[int64](1000),
							AllowPrivilegeEscalation: ptr.To(false),
							Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
							SeccompProfile:           &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
						},
					}},
				},
			},
		},
	}
	for _, m := range mutate {
		m(d)
	}
	return d
}

func createObject(t *testing.T, c client.Client, obj client.Object) {
	t.Helper()
	if err := c.Create(context.Background(), obj); err != nil {
		t.Fatalf("creating %T %s: %v", obj, obj.GetName(), err)
	}
}

// fromApp is an App that sets nothing but spec.from.
func fromApp(ns, name, kind, workloadName, container string) *v1alpha1.App {
	return &v1alpha1.App{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       v1alpha1.AppSpec{From: &v1alpha1.WorkloadRef{Kind: kind, Name: workloadName, Container: container}},
	}
}

// createAppWithKubectl creates app with kubectl and returns the admission
// warnings kubectl printed.
func createAppWithKubectl(t *testing.T, app *v1alpha1.App) []string {
	t.Helper()
	obj := app.DeepCopy()
	obj.APIVersion, obj.Kind = v1alpha1.GroupVersion.String(), "App"
	doc, err := json.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	return warningsOf(mustKubectl(t, string(doc), "create", "-f", "-"))
}

// waitForRollout waits until every pod of the Deployment runs its current
// template and reports the digest of its container app, and returns the
// one pod.
func waitForRollout(t *testing.T, c client.Client, d *appsv1.Deployment) *corev1.Pod {
	t.Helper()
	ctx := context.Background()
	var pod *corev1.Pod
	eventually(t, 3*time.Minute, "deployment/"+d.Name+" to roll out", func() (bool, error) {
		if err := c.Get(ctx, client.ObjectKeyFromObject(d), d); err != nil {
			return false, err
		}
		s := d.Status
		if s.ObservedGeneration < d.Generation || s.Replicas != 1 || s.UpdatedReplicas != 1 || s.ReadyReplicas != 1 {
			return false, fmt.Errorf("status %+v", s)
		}
		var pods corev1.PodList
		if err := c.List(ctx, &pods, client.InNamespace(d.Namespace), client.MatchingLabels(d.Spec.Selector.MatchLabels)); err != nil {
			return false, err
		}
		if len(pods.Items) != 1 {
			return false, fmt.Errorf("%d pods", len(pods.Items))
		}
		pod = &pods.Items[0]
		running := pod.Status.Phase == corev1.PodRunning && len(pod.Status.ContainerStatuses) == 1 &&
			pod.Status.ContainerStatuses[0].ImageID != "" && pod.Spec.Containers[0].Image == d.Spec.Template.Spec.Containers[0].Image
		return running, fmt.Errorf("pod %s: phase %s, statuses %+v", pod.Name, pod.Status.Phase, pod.Status.ContainerStatuses)
	})
	return realPod(t, c, d.Namespace, pod.Name)
}

// wantImageID fails unless the pod's container reports image as
// repository@digest.
func wantImageID(t *testing.T, pod *corev1.Pod, container string, image versionImage) {
	t.Helper()
	want := image.repo + "@" + image.digest
	for _, s := range pod.Status.ContainerStatuses {
		if s.Name == container {
			if s.ImageID != want {
				t.Fatalf("pod %s container %s reports imageID %q, want %q", pod.Name, container, s.ImageID, want)
			}
			return
		}
	}
	t.Fatalf("pod %s has no status of container %s: %+v", pod.Name, container, pod.Status.ContainerStatuses)
}

// runFromTask waits for the Task to succeed on the real node, and checks
// its pod ran image and printed logs.
func runFromTask(t *testing.T, c client.Client, task *v1alpha1.Task, image versionImage, logs string) *v1alpha1.Task {
	t.Helper()
	done := waitForState(t, c, task, v1alpha1.TaskStateSucceeded, 3*time.Minute)
	if done.Status.ExitCode == nil || *done.Status.ExitCode != 0 || done.Status.FailureReason != "" {
		t.Fatalf("Task %s: exit code %v, failure reason %q; want 0 and none", task.Name, ptr.Deref(done.Status.ExitCode, -1), done.Status.FailureReason)
	}
	pod := realPod(t, c, task.Namespace, done.Status.PodName)
	wantImageID(t, pod, "step-main", image)
	if got := containerLogs(t, task.Namespace, done.Status.PodName, "step-main"); got != logs {
		t.Fatalf("Task %s printed %q, want %q", task.Name, got, logs)
	}
	return done
}

// TestRealTaskFromADeployment: a Task of an App that names a Deployment
// runs, on the real node, the digest the Deployment's pod runs, with the
// container's env, envFrom and Secret volume. A change of the
// Deployment's image after a Task was created does not change that Task;
// a Task created after the rollout runs the new digest.
func TestRealTaskFromADeployment(t *testing.T) {
	ctx := context.Background()
	c := newClient(t)
	ns := newRealNodeNamespace(t, c)
	v1 := pushVersionImage(t, "e2e/from-web", "v1")
	v2 := pushVersionImage(t, "e2e/from-web", "v2")
	if v1.digest == v2.digest {
		t.Fatalf("v1 and v2 have the same digest %s", v1.digest)
	}

	createSecret(t, c, ns, "web-creds", map[string]string{"username": "shop", "password": "s3cret"})
	createObject(t, c, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web-config"},
		Data:       map[string]string{"COLOR": "blue", "LEVEL": "info"},
	})
	deployment := fromDeployment(ns, "web", v1.ref, 1, func(d *appsv1.Deployment) {
		pod := &d.Spec.Template.Spec
		pod.Volumes = []corev1.Volume{{Name: "creds", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "web-creds"}}}}
		app := &pod.Containers[0]
		app.Env = []corev1.EnvVar{{Name: "GREETING", Value: "hello"}, secretEnv("DB_PASSWORD", "web-creds", "password")}
		app.EnvFrom = []corev1.EnvFromSource{{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "web-config"}}}}
		app.VolumeMounts = []corev1.VolumeMount{{Name: "creds", MountPath: "/etc/creds", ReadOnly: true}}
	})
	createObject(t, c, deployment)
	wantImageID(t, waitForRollout(t, c, deployment), "app", v1)

	app := fromApp(ns, "web", v1alpha1.WorkloadDeployment, "web", "")
	if warnings := createAppWithKubectl(t, app); warnings != nil {
		t.Errorf("creating the App warned %q, want no warning", warnings)
	}

	task, warnings := createTaskYAML(t, c, app, "env",
		`echo "GREETING=$GREETING"; echo "DB_PASSWORD=$DB_PASSWORD"; echo "COLOR=$COLOR LEVEL=$LEVEL"; `+
			`echo "username=$(cat /etc/creds/username)"; cat /version; id -u`)
	// The Deployment's command (sleep 3600) is the App's entrypoint.
	if want := []string{inherit.WarningCommandReplacesEntrypoint}; !reflect.DeepEqual(warnings, want) {
		t.Errorf("creating the Task warned %q, want %q", warnings, want)
	}
	if want := v1.ref + "@" + v1.digest; task.Spec.Resolved == nil || task.Spec.Resolved.Image != want {
		t.Fatalf("spec.resolved = %+v, want image %s", task.Spec.Resolved, want)
	}
	runFromTask(t, c, task, v1, "GREETING=hello\nDB_PASSWORD=s3cret\nCOLOR=blue LEVEL=info\nusername=shop\nv1\n1000\n")

	// A Task created before the Deployment's image changes keeps what it
	// pinned, and runs it once the reconciler, which reads the workload
	// again before a run, sees the new image: a quota holds its
	// PipelineRun back until the rollout is done.
	hold := &corev1.ResourceQuota{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "hold-runs"},
		Spec:       corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{"count/pipelineruns.tekton.dev": resource.MustParse("0")}},
	}
	createObject(t, c, hold)
	// The quota controller must have counted it, or the API server lets
	// PipelineRuns through.
	eventually(t, 30*time.Second, "the quota to be counted", func() (bool, error) {
		err := c.Get(ctx, client.ObjectKeyFromObject(hold), hold)
		_, counted := hold.Status.Used["count/pipelineruns.tekton.dev"]
		return err == nil && counted, err
	})
	before, _ := createTaskYAML(t, c, app, "before-rollout", "cat /version")
	if want := v1.ref + "@" + v1.digest; before.Spec.Resolved == nil || before.Spec.Resolved.Image != want {
		t.Fatalf("spec.resolved = %+v, want image %s", before.Spec.Resolved, want)
	}
	eventually(t, 30*time.Second, "the Task to wait for its PipelineRun", func() (bool, error) {
		got := getTask(t, c, ns, before.Name)
		cond := meta.FindStatusCondition(got.Status.Conditions, v1alpha1.ConditionSucceeded)
		return got.Status.State == v1alpha1.TaskStatePending && cond != nil && strings.HasPrefix(cond.Message, "Waiting for the PipelineRun to be created: "),
			fmt.Errorf("state %s, condition %+v", got.Status.State, cond)
	})
	patch := client.MergeFrom(deployment.DeepCopy())
	deployment.Spec.Template.Spec.Containers[0].Image = v2.ref
	if err := c.Patch(ctx, deployment, patch); err != nil {
		t.Fatalf("changing the Deployment's image: %v", err)
	}
	wantImageID(t, waitForRollout(t, c, deployment), "app", v2)
	rolledOut := time.Now()
	if err := c.Delete(ctx, hold); err != nil {
		t.Fatal(err)
	}
	reread := getTask(t, c, ns, before.Name)
	if diff := cmp.Diff(before.Spec.Resolved, reread.Spec.Resolved); diff != "" {
		t.Fatalf("the Task's spec.resolved changed with the Deployment (-created +now):\n%s", diff)
	}
	done := runFromTask(t, c, before, v1, "v1\n")
	pr := &pipelinev1.PipelineRun{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: done.Status.PipelineRunName}, pr); err != nil {
		t.Fatal(err)
	}
	// Timestamps have whole seconds.
	if created := pr.CreationTimestamp.Time; created.Before(rolledOut.Truncate(time.Second)) {
		t.Fatalf("the PipelineRun was created at %s, before the rollout was done at %s", created, rolledOut)
	}

	after, _ := createTaskYAML(t, c, app, "after-rollout", "cat /version")
	if want := v2.ref + "@" + v2.digest; after.Spec.Resolved == nil || after.Spec.Resolved.Image != want {
		t.Fatalf("spec.resolved = %+v, want image %s", after.Spec.Resolved, want)
	}
	runFromTask(t, c, after, v2, "v2\n")
}

// fromTaskOf is a Task of the named App that runs command.
func fromTaskOf(ns, name, app string) *v1alpha1.Task {
	return &v1alpha1.Task{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       v1alpha1.TaskSpec{AppRef: v1alpha1.AppReference{Name: app}, Command: "true"},
	}
}

// TestTaskFromWorkloadAdmission: a workload that does not exist, a
// container it does not have, and a volume a Task may not share are each
// denied, at the App's creation and at a Task's, with what to do; policy
// lets PersistentVolumeClaims through, never a hostPath. Without
// spec.from.container, the template's default-container annotation
// chooses.
func TestTaskFromWorkloadAdmission(t *testing.T) {
	ctx := context.Background()
	c := newClient(t)
	ns := newNamespace(t, c)
	const (
		webImage   = "registry.example.com/shop/web:v1"
		proxyImage = "registry.example.com/shop/proxy:v3"
	)
	deny := func(what string, err error, want string) {
		t.Helper()
		requireDenied(t, what, err, want)
	}

	// A workload that does not exist yet: the App is admitted with a
	// warning, its Tasks are not.
	if got, want := createAppWithKubectl(t, fromApp(ns, "ghost", v1alpha1.WorkloadDeployment, "ghost", "")),
		[]string{"deployment/ghost does not exist yet: Tasks of this App are refused until it does"}; !reflect.DeepEqual(got, want) {
		t.Errorf("creating an App from a missing Deployment warned %q, want %q", got, want)
	}
	deny("a Task of an App from a missing Deployment", c.Create(ctx, fromTaskOf(ns, "ghost", "ghost")),
		`spec.appRef: Not found: App ghost (from deployment/ghost): spec.from.name: Not found: "ghost": deployment/ghost does not exist in namespace `+ns+
			`; create it, or point spec.from at a workload that exists`)

	// Two containers, the second the default: no pod, so no digest.
	web := fromDeployment(ns, "web", webImage, 0, func(d *appsv1.Deployment) {
		d.Spec.Template.Annotations = map[string]string{"kubectl.kubernetes.io/default-container": "app"}
		app := d.Spec.Template.Spec.Containers[0]
		app.Command, app.Args = nil, []string{"serve"}
		sidecar := *app.DeepCopy()
		sidecar.Name, sidecar.Image, sidecar.Args = "sidecar", proxyImage, []string{"proxy"}
		d.Spec.Template.Spec.Containers = []corev1.Container{sidecar, app}
	})
	createObject(t, c, web)
	if warnings := createAppWithKubectl(t, fromApp(ns, "web", v1alpha1.WorkloadDeployment, "web", "")); warnings != nil {
		t.Errorf("creating App web warned %q, want no warning", warnings)
	}
	task, warnings := createTaskYAML(t, c, &v1alpha1.App{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web"}}, "default", "true")
	if task.Spec.Resolved == nil || task.Spec.Resolved.Image != webImage || !reflect.DeepEqual(task.Spec.Resolved.Command, []string{"/bin/sh", "-c", "true"}) {
		t.Errorf("spec.resolved = %+v, want the annotated container's image %s", task.Spec.Resolved, webImage)
	}
	if want := []string{"no pod of deployment/web reports a digest: the Task runs what " + webImage + " names when it starts"}; !reflect.DeepEqual(warnings, want) {
		t.Errorf("creating the Task warned %q, want %q", warnings, want)
	}

	// A container the workload does not have. Left empty, spec.from.container
	// means the annotated container, app, which the fix must name.
	t.Run("missing container names the default", func(t *testing.T) {
		requireDenied(t, "an App from a container that does not exist",
			c.Create(ctx, fromApp(ns, "nope", v1alpha1.WorkloadDeployment, "web", "nope")),
			`spec.from.container: Not found: "nope": deployment/web has no such container; set spec.from.container to one of sidecar, app, or leave it empty for app`)
	})
	proxy := fromApp(ns, "proxy", v1alpha1.WorkloadDeployment, "web", "sidecar")
	createObject(t, c, proxy)
	task = fromTaskOf(ns, "proxy", "proxy")
	createObject(t, c, task)
	if task.Spec.Resolved == nil || task.Spec.Resolved.Image != proxyImage {
		t.Errorf("spec.resolved = %+v, want the sidecar's image %s", task.Spec.Resolved, proxyImage)
	}
	patch := client.MergeFrom(web.DeepCopy())
	web.Spec.Template.Spec.Containers = web.Spec.Template.Spec.Containers[1:]
	if err := c.Patch(ctx, web, patch); err != nil {
		t.Fatalf("removing the sidecar: %v", err)
	}
	deny("a Task of an App whose container is gone", c.Create(ctx, fromTaskOf(ns, "proxy-gone", "proxy")),
		`spec.appRef: Not found: App proxy (from deployment/web): spec.from.container: Not found: "sidecar": deployment/web has no such container; `+
			`set spec.from.container to one of app, or leave it empty for app`)

	// A PersistentVolumeClaim: refused on the App's creation, and on a
	// Task's of an App created before its Deployment, until policy allows.
	const pvcRefused = `deployment/db's container app mounts volume data, claim data: ` +
		`a Task would share it with the running app, and a ReadWriteOnce volume keeps one of them from starting ` +
		`(cluster policy tasks.fromWorkloads.allowPersistentVolumeClaims is false); ` +
		`remove the mount from the container, set spec.from.container to one that does not mount it, or describe the App without spec.from`
	if got, want := createAppWithKubectl(t, fromApp(ns, "db", v1alpha1.WorkloadDeployment, "db", "")),
		[]string{"deployment/db does not exist yet: Tasks of this App are refused until it does"}; !reflect.DeepEqual(got, want) {
		t.Errorf("creating an App from a missing Deployment warned %q, want %q", got, want)
	}
	createObject(t, c, fromDeployment(ns, "db", webImage, 0, func(d *appsv1.Deployment) {
		d.Spec.Template.Spec.Volumes = []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{
			PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "data"}}}}
		d.Spec.Template.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "data", MountPath: "/var/lib/data"}}
	}))
	deny("an App from a Deployment that mounts a claim", c.Create(ctx, fromApp(ns, "db2", v1alpha1.WorkloadDeployment, "db", "")),
		"spec.from: Forbidden: "+pvcRefused)
	deny("a Task of an App whose Deployment mounts a claim", c.Create(ctx, fromTaskOf(ns, "db", "db")),
		"spec.appRef: Forbidden: App db (from deployment/db): spec.from: Forbidden: "+pvcRefused)

	// A hostPath is no claim: refused whatever policy says.
	createObject(t, c, fromDeployment(ns, "agent", webImage, 0, func(d *appsv1.Deployment) {
		d.Spec.Template.Spec.Volumes = []corev1.Volume{{Name: "host", VolumeSource: corev1.VolumeSource{
			HostPath: &corev1.HostPathVolumeSource{Path: "/var/log"}}}}
		d.Spec.Template.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "host", MountPath: "/host", ReadOnly: true}}
	}))
	hostPathRefused := `spec.from: Forbidden: deployment/agent's container app mounts volume host, a kind of volume a Task does not take from a workload ` +
		`(it takes secret, configMap, projected, downwardAPI and emptyDir); ` +
		`remove the mount from the container, set spec.from.container to one that does not mount it, or describe the App without spec.from`
	deny("an App from a Deployment that mounts a hostPath", c.Create(ctx, fromApp(ns, "agent", v1alpha1.WorkloadDeployment, "agent", "")), hostPathRefused)

	applyPolicy(t, c, "apiVersion: taskgate.dev/v1alpha1\nkind: Policy\ntasks:\n  fromWorkloads:\n    allowPersistentVolumeClaims: true\n")
	createObject(t, c, fromApp(ns, "db2", v1alpha1.WorkloadDeployment, "db", ""))
	task = fromTaskOf(ns, "db", "db")
	createObject(t, c, task)
	wantVolume := corev1.Volume{Name: "data", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "data"}}}
	wantMount := corev1.VolumeMount{Name: "data", MountPath: "/var/lib/data"}
	if r := task.Spec.Resolved; r == nil || !reflect.DeepEqual(r.Volumes, []corev1.Volume{wantVolume}) || !reflect.DeepEqual(r.VolumeMounts, []corev1.VolumeMount{wantMount}) {
		t.Errorf("spec.resolved = %+v, want the claim's volume %+v mounted as %+v", task.Spec.Resolved, wantVolume, wantMount)
	}
	deny("an App from a Deployment that mounts a hostPath, claims allowed",
		c.Create(ctx, fromApp(ns, "agent", v1alpha1.WorkloadDeployment, "agent", "")), hostPathRefused)
}

// TestAppFromWorkloadNeedsReadAccess: writing an App from a workload
// needs get on it besides create pods; running a Task of such an App
// needs no more than a Task of any App.
func TestAppFromWorkloadNeedsReadAccess(t *testing.T) {
	ctx := context.Background()
	admin := newClient(t)
	ns := newNamespace(t, admin)
	const image = "registry.example.com/shop/web:v1"
	createObject(t, admin, fromDeployment(ns, "web", image, 0))
	grant(t, admin, ns, "carol", "write-apps",
		rbacv1.PolicyRule{APIGroups: []string{v1alpha1.GroupVersion.Group}, Resources: []string{"apps"}, Verbs: []string{"create", "get"}},
		rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"create"}})
	carol := actingAs(t, "carol")
	forbidden := fmt.Sprintf(`spec.from: Forbidden: you (user "carol") may not get deployment "web" in namespace %q; `+
		`an App from a workload runs a copy of its container, so it needs get on the workload; ask for that permission or name a workload you can read`, ns)
	requireAccessDenied(t, carol.Create(ctx, fromApp(ns, "web", v1alpha1.WorkloadDeployment, "web", "")), forbidden)

	// As for bound Secrets, the answer to a sender who may not read the
	// workload says nothing of what it holds, here its containers' names.
	t.Run("denial reveals no container names", func(t *testing.T) {
		requireAccessDenied(t, carol.Create(ctx, fromApp(ns, "peek", v1alpha1.WorkloadDeployment, "web", "nope")), forbidden)
	})

	grant(t, admin, ns, "carol", "read-web",
		rbacv1.PolicyRule{APIGroups: []string{"apps"}, Resources: []string{"deployments"}, ResourceNames: []string{"web"}, Verbs: []string{"get"}})
	// The webhook may still hold carol's denial for a few seconds.
	eventually(t, 30*time.Second, "carol's App from deployment/web to be admitted", func() (bool, error) {
		err := carol.Create(ctx, fromApp(ns, "web", v1alpha1.WorkloadDeployment, "web", ""))
		return err == nil, err
	})

	grant(t, admin, ns, "dave", "run-tasks",
		rbacv1.PolicyRule{APIGroups: []string{v1alpha1.GroupVersion.Group}, Resources: []string{"tasks"}, Verbs: []string{"create"}})
	task := fromTaskOf(ns, "migrate", "web")
	if err := actingAs(t, "dave").Create(ctx, task); err != nil {
		t.Fatalf("creating a Task of App web as dave, who may create Tasks only: %v", err)
	}
	if task.Spec.Resolved == nil || task.Spec.Resolved.Image != image {
		t.Fatalf("spec.resolved = %+v, want image %s", task.Spec.Resolved, image)
	}
}
