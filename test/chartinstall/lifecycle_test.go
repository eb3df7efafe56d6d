package chartinstall

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/taskgate/taskgate/api/v1alpha1"
	"github.com/taskgate/taskgate/test/chartrender"
	"github.com/taskgate/taskgate/test/localcluster"
)

// tenant is the namespace the tests' App, Tasks and Job live in.
const tenant = "shop"

// installValues is the values file of the install: a policy with a TTL for
// Jobs, so that the Job webhook has something to set.
const installValues = `policy:
  apiVersion: taskgate.dev/v1alpha1
  kind: Policy
  ttl:
    rules:
    - name: jobs-day
      kinds: [Job]
      when: Created
      ttlSecondsAfterFinished: 86400
`

// TestChartLifecycle installs the chart, uses it as developers do, deletes
// a manager pod, upgrades the release with a changed CRD and uninstalls
// it, in that order: each step starts from what the one before left.
func TestChartLifecycle(t *testing.T) {
	c := newClient(t)
	newRealNodeNamespace(t, c, releaseNamespace)
	newRealNodeNamespace(t, c, tenant)
	values := filepath.Join(t.TempDir(), "values.yaml")
	if err := os.WriteFile(values, []byte(installValues), 0o644); err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	helm(t, append([]string{"install", releaseName, "charts/taskgate", "--namespace", releaseNamespace, "--values", values, "--wait", "--timeout", "5m"}, imageValues()...)...)
	t.Logf("helm install --wait took %s", time.Since(start).Round(10*time.Millisecond))
	pods := managerPods(t, c, 2)
	for _, pod := range pods {
		want := localcluster.RegistryHost + "/" + imageRepository + "@" + imageDigest.String()
		if got := pod.Spec.Containers[0].Image; got != want {
			t.Fatalf("manager pod %s runs image %q, want %q", pod.Name, got, want)
		}
	}

	app := &v1alpha1.App{
		ObjectMeta: metav1.ObjectMeta{Namespace: tenant, Name: "shop"},
		Spec: v1alpha1.AppSpec{
			Image: localcluster.ImageShellUID,
			Env:   []corev1.EnvVar{{Name: "GREETING", Value: "hello from the chart"}},
		},
	}
	if err := c.Create(context.Background(), app); err != nil {
		t.Fatalf("creating App: %v", err)
	}
	runTask(t, c, "first")
	webhookDenies(t, c)
	labelledJob(t, c)
	jobTTLWithoutManager(t, c)

	restartManager(t, c)
	runTask(t, c, "after-restart")

	upgradeWithCRDChange(t, c, values)
	runTask(t, c, "after-upgrade")

	uninstall(t, c)
}

// managerPods waits until the manager Deployment has n ready pods, all on
// the real node with no restarts, and returns them.
func managerPods(t *testing.T, c client.Client, n int) []corev1.Pod {
	t.Helper()
	var pods corev1.PodList
	eventually(t, 3*time.Minute, fmt.Sprintf("%d ready manager pods", n), func() (bool, error) {
		dep := &appsv1.Deployment{}
		if err := c.Get(context.Background(), client.ObjectKey{Namespace: releaseNamespace, Name: releaseName}, dep); err != nil {
			return false, err
		}
		if err := c.List(context.Background(), &pods, client.InNamespace(releaseNamespace), client.MatchingLabels(dep.Spec.Selector.MatchLabels)); err != nil {
			return false, err
		}
		ready := 0
		for _, pod := range pods.Items {
			if pod.DeletionTimestamp == nil && podReady(&pod) {
				ready++
			}
		}
		return ready == n && len(pods.Items) == n && dep.Status.UpdatedReplicas == int32(n),
			fmt.Errorf("%d pods, %d ready, %d updated", len(pods.Items), ready, dep.Status.UpdatedReplicas)
	})
	for i := range pods.Items {
		pod := &pods.Items[i]
		if err := localcluster.CheckRealPod(pod); err != nil {
			t.Fatal(err)
		}
		for _, s := range pod.Status.ContainerStatuses {
			if s.RestartCount != 0 {
				t.Fatalf("manager pod %s: container %s restarted %d times; last state %+v", pod.Name, s.Name, s.RestartCount, s.LastTerminationState)
			}
		}
	}
	return pods.Items
}

func podReady(pod *corev1.Pod) bool {
	for _, cond := range pod.Status.Conditions {
		if cond.Type == corev1.PodReady {
			return cond.Status == corev1.ConditionTrue
		}
	}
	return false
}

// runTask creates a Task of the App and checks that the mutating webhook
// resolved it and that its process ran on the real node with the App's
// env.
func runTask(t *testing.T, c client.Client, name string) {
	t.Helper()
	task := &v1alpha1.Task{
		ObjectMeta: metav1.ObjectMeta{Namespace: tenant, Name: name},
		Spec:       v1alpha1.TaskSpec{AppRef: v1alpha1.AppReference{Name: "shop"}, Command: `echo "$GREETING"`},
	}
	if err := c.Create(context.Background(), task); err != nil {
		t.Fatalf("creating Task %s: %v", name, err)
	}
	if task.Spec.Resolved == nil || task.Spec.Resolved.Image != localcluster.ImageShellUID {
		t.Fatalf("Task %s was admitted without the App's image in spec.resolved: %+v", name, task.Spec.Resolved)
	}
	start := time.Now()
	eventually(t, 3*time.Minute, "Task "+name+" to succeed", func() (bool, error) {
		if err := c.Get(context.Background(), client.ObjectKeyFromObject(task), task); err != nil {
			return false, err
		}
		return task.Status.State == v1alpha1.TaskStateSucceeded, fmt.Errorf("state %q, failure %q", task.Status.State, task.Status.FailureReason)
	})
	t.Logf("Task %s succeeded %s after its creation", name, time.Since(start).Round(10*time.Millisecond))
	pod := &corev1.Pod{}
	if err := c.Get(context.Background(), client.ObjectKey{Namespace: tenant, Name: task.Status.PodName}, pod); err != nil {
		t.Fatalf("reading Task %s's pod: %v", name, err)
	}
	if err := localcluster.CheckRealPod(pod); err != nil {
		t.Fatal(err)
	}
	if got, want := logs(t, tenant, pod.Name, "step-main"), "hello from the chart\n"; got != want {
		t.Fatalf("Task %s printed %q, want %q", name, got, want)
	}
}

// webhookDenies checks that the validating webhook, served by the pods,
// refuses a Task whose App does not exist.
func webhookDenies(t *testing.T, c client.Client) {
	t.Helper()
	task := &v1alpha1.Task{
		ObjectMeta: metav1.ObjectMeta{Namespace: tenant, Name: "orphan"},
		Spec:       v1alpha1.TaskSpec{AppRef: v1alpha1.AppReference{Name: "missing"}, Command: "true"},
	}
	err := c.Create(context.Background(), task)
	if err == nil || !strings.Contains(err.Error(), `admission webhook "tasks.taskgate.dev" denied the request`) || !strings.Contains(err.Error(), `"missing"`) {
		t.Fatalf("creating a Task of a missing App: got %v, want a denial by the webhook tasks.taskgate.dev naming the App", err)
	}
}

// labelledJob checks that a Job labelled with the App gets the App's env
// and the policy's TTL at admission, and that its process sees the env.
func labelledJob(t *testing.T, c client.Client) {
	t.Helper()
	job := localcluster.RealNodeJob(tenant, "report", "shop", `echo "$GREETING"`)
	if err := c.Create(context.Background(), job); err != nil {
		t.Fatalf("creating Job: %v", err)
	}
	if got := job.Spec.TTLSecondsAfterFinished; got == nil || *got != 86400 {
		t.Fatalf("the labelled Job's ttlSecondsAfterFinished = %v, want 86400 from the policy's rule jobs-day", ptr.Deref(got, -1))
	}
	var pods corev1.PodList
	eventually(t, 2*time.Minute, "the Job's pod to succeed", func() (bool, error) {
		err := c.List(context.Background(), &pods, client.InNamespace(tenant), client.MatchingLabels{"job-name": "report"})
		return err == nil && len(pods.Items) == 1 && pods.Items[0].Status.Phase == corev1.PodSucceeded, err
	})
	if err := localcluster.CheckRealPod(&pods.Items[0]); err != nil {
		t.Fatal(err)
	}
	if got, want := logs(t, tenant, pods.Items[0].Name, "main"), "hello from the chart\n"; got != want {
		t.Fatalf("the labelled Job printed %q, want %q", got, want)
	}
}

// jobTTLWithoutManager checks that, on this 1.36 cluster, jobAdmission:
// auto has kube-apiserver give new Jobs their TTL: the manager compiled the
// policy into its JobTTLParams, owned by the policy ConfigMap, and with
// every manager pod gone a Job still gets the rule's TTL and decision.
func jobTTLWithoutManager(t *testing.T, c client.Client) {
	t.Helper()
	ctx := context.Background()
	params := &v1alpha1.JobTTLParams{}
	eventually(t, time.Minute, "the manager to write the JobTTLParams", func() (bool, error) {
		if err := c.Get(ctx, client.ObjectKey{Namespace: releaseNamespace, Name: v1alpha1.JobTTLParamsName}, params); err != nil {
			return false, err
		}
		return len(params.Spec.Rules) == 1 && params.Spec.Rules[0].Name == "jobs-day", fmt.Errorf("rules %+v", params.Spec.Rules)
	})
	if owners := params.OwnerReferences; len(owners) != 1 || owners[0].Kind != "ConfigMap" || owners[0].Name != "taskgate-policy" {
		t.Errorf("the JobTTLParams' owners are %+v, want the ConfigMap taskgate-policy", owners)
	}

	dep := &appsv1.Deployment{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: releaseNamespace, Name: releaseName}, dep); err != nil {
		t.Fatal(err)
	}
	scale := func(n int32) {
		t.Helper()
		if err := c.Patch(ctx, dep, client.RawPatch(types.MergePatchType, fmt.Appendf(nil, `{"spec":{"replicas":%d}}`, n))); err != nil {
			t.Fatalf("scaling the manager to %d: %v", n, err)
		}
	}
	scale(0)
	eventually(t, 2*time.Minute, "every manager pod to go", func() (bool, error) {
		var pods corev1.PodList
		err := c.List(ctx, &pods, client.InNamespace(releaseNamespace), client.MatchingLabels(dep.Spec.Selector.MatchLabels))
		return err == nil && len(pods.Items) == 0, fmt.Errorf("%d pods (%v)", len(pods.Items), err)
	})
	job := localcluster.RealNodeJob(tenant, "nightly", "", "true")
	delete(job.Labels, v1alpha1.LabelApp)
	if err := c.Create(ctx, job, client.DryRunAll); err != nil {
		t.Fatalf("creating a Job with no manager running: %v", err)
	}
	want := map[string]string{
		"taskgate.dev/policy-decision": "set ttlSecondsAfterFinished=86400 (rule jobs-day)",
		"taskgate.dev/ttl-source":      "policy",
	}
	if got := job.Spec.TTLSecondsAfterFinished; got == nil || *got != 86400 || !maps.Equal(job.Annotations, want) {
		t.Errorf("with no manager running, a new Job got ttlSecondsAfterFinished %v and annotations %v; want 86400 and %v", ptr.Deref(got, -1), job.Annotations, want)
	}
	scale(2)
	pods := managerPods(t, c, 2)
	// The last pod to stop released the Lease; the next steps need a
	// leader.
	lease := &coordinationv1.Lease{}
	eventually(t, time.Minute, "a manager pod to hold the leader Lease again", func() (bool, error) {
		if err := c.Get(ctx, client.ObjectKey{Namespace: releaseNamespace, Name: releaseName + "-manager"}, lease); err != nil {
			return false, err
		}
		holder := strings.SplitN(ptr.Deref(lease.Spec.HolderIdentity, ""), "_", 2)[0]
		return slices.ContainsFunc(pods, func(p corev1.Pod) bool { return p.Name == holder }), fmt.Errorf("holder %q", holder)
	})
}

// restartManager deletes the leader's pod and checks that the Deployment
// replaces it, the lease moves to a live pod, and no container restarted.
func restartManager(t *testing.T, c client.Client) {
	t.Helper()
	lease := &coordinationv1.Lease{}
	leaseKey := client.ObjectKey{Namespace: releaseNamespace, Name: releaseName + "-manager"}
	if err := c.Get(context.Background(), leaseKey, lease); err != nil {
		t.Fatalf("reading the leader Lease: %v", err)
	}
	leader := strings.SplitN(ptr.Deref(lease.Spec.HolderIdentity, ""), "_", 2)[0]
	pod := &corev1.Pod{}
	if err := c.Get(context.Background(), client.ObjectKey{Namespace: releaseNamespace, Name: leader}, pod); err != nil {
		t.Fatalf("reading the leader's pod %q (lease holder %q): %v", leader, ptr.Deref(lease.Spec.HolderIdentity, ""), err)
	}
	start := time.Now()
	if err := c.Delete(context.Background(), pod, client.Preconditions{UID: &pod.UID}); err != nil {
		t.Fatalf("deleting the leader's pod %s: %v", leader, err)
	}
	pods := managerPods(t, c, 2)
	t.Logf("2 manager pods ready again %s after the leader's was deleted", time.Since(start).Round(10*time.Millisecond))
	names := make([]string, 0, len(pods))
	for _, p := range pods {
		names = append(names, p.Name)
	}
	if slices.Contains(names, leader) {
		t.Fatalf("the deleted pod %s is still among the manager's pods %v", leader, names)
	}
	eventually(t, time.Minute, "a live pod to hold the leader Lease", func() (bool, error) {
		if err := c.Get(context.Background(), leaseKey, lease); err != nil {
			return false, err
		}
		holder := strings.SplitN(ptr.Deref(lease.Spec.HolderIdentity, ""), "_", 2)[0]
		return slices.Contains(names, holder), fmt.Errorf("holder %q, pods %v", holder, names)
	})
}

// upgradeWithCRDChange upgrades the release from a copy of the chart whose
// Task CRD has one more printer column, and with values that roll the pods
// (verbosity, JSON logs), and checks that each took effect.
func upgradeWithCRDChange(t *testing.T, c client.Client, values string) {
	t.Helper()
	chart := filepath.Join(t.TempDir(), "taskgate")
	if err := os.CopyFS(chart, os.DirFS(filepath.Join(cluster.RepoRoot, "charts", "taskgate"))); err != nil {
		t.Fatalf("copying the chart: %v", err)
	}
	column := apiextensionsv1.CustomResourceColumnDefinition{Name: "Upgraded", Type: "string", JSONPath: ".metadata.labels.upgraded"}
	if err := chartrender.AddPrinterColumn(filepath.Join(chart, "files", "crds", "taskgate.dev_tasks.yaml"), column.Name, column.JSONPath); err != nil {
		t.Fatal(err)
	}

	before := managerPods(t, c, 2)
	start := time.Now()
	helm(t, append([]string{"upgrade", releaseName, chart, "--namespace", releaseNamespace, "--values", values, "--set", "manager.logVerbosity=1", "--set", "manager.logFormat=json", "--wait", "--timeout", "5m"}, imageValues()...)...)
	t.Logf("helm upgrade --wait took %s", time.Since(start).Round(10*time.Millisecond))

	got := &apiextensionsv1.CustomResourceDefinition{}
	if err := c.Get(context.Background(), client.ObjectKey{Name: "tasks.taskgate.dev"}, got); err != nil {
		t.Fatalf("reading the Task CRD: %v", err)
	}
	if !slices.Contains(got.Spec.Versions[0].AdditionalPrinterColumns, column) {
		t.Fatalf("after helm upgrade the Task CRD's printer columns are %+v, want them to include %+v", got.Spec.Versions[0].AdditionalPrinterColumns, column)
	}
	after := managerPods(t, c, 2)
	for _, old := range before {
		for _, pod := range after {
			if pod.Name == old.Name {
				t.Fatalf("manager pod %s outlived an upgrade that changed its arguments", pod.Name)
			}
		}
	}
	if args := after[0].Spec.Containers[0].Args; !slices.Contains(args, "--v=1") || !slices.Contains(args, "--logging-format=json") {
		t.Fatalf("after the upgrade the manager's arguments are %q, want --v=1 and --logging-format=json among them", args)
	}
	// Every line the new pod wrote is a JSON object with a message.
	lines := strings.Split(strings.TrimSpace(logs(t, releaseNamespace, after[0].Name, "manager")), "\n")
	for _, line := range lines {
		var entry struct {
			Msg string `json:"msg"`
		}
		if err := json.Unmarshal([]byte(line), &entry); err != nil || entry.Msg == "" {
			t.Fatalf("with logFormat json the manager wrote %q, not a JSON object with a msg (%v)", line, err)
		}
	}
	t.Logf("the upgraded manager wrote %d JSON log lines", len(lines))
}

// uninstall uninstalls the release and checks that only what
// docs/install.md says stays is left: the CRDs (crds.keep), with the App
// and its Tasks. The post-delete hook deleted the manager's leader Lease and
// cert-manager's two Secrets, and then itself.
func uninstall(t *testing.T, c client.Client) {
	t.Helper()
	start := time.Now()
	helm(t, "uninstall", releaseName, "--namespace", releaseNamespace, "--wait", "--timeout", "3m")
	t.Logf("helm uninstall --wait took %s", time.Since(start).Round(10*time.Millisecond))

	namespaced := map[schema.GroupVersionKind][]string{
		{Version: "v1", Kind: "ConfigMap"}:                                       {"kube-root-ca.crt"},
		{Version: "v1", Kind: "Secret"}:                                          nil,
		{Version: "v1", Kind: "ServiceAccount"}:                                  {"default"},
		{Version: "v1", Kind: "Service"}:                                         nil,
		{Version: "v1", Kind: "Pod"}:                                             nil,
		{Group: "apps", Version: "v1", Kind: "Deployment"}:                       nil,
		{Group: "apps", Version: "v1", Kind: "ReplicaSet"}:                       nil,
		{Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "Role"}:        nil,
		{Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "RoleBinding"}: nil,
		{Group: "policy", Version: "v1", Kind: "PodDisruptionBudget"}:            nil,
		{Group: "coordination.k8s.io", Version: "v1", Kind: "Lease"}:             nil,
		{Group: "batch", Version: "v1", Kind: "Job"}:                             nil,
		{Group: "cert-manager.io", Version: "v1", Kind: "Certificate"}:           nil,
		{Group: "cert-manager.io", Version: "v1", Kind: "CertificateRequest"}:    nil,
		{Group: "cert-manager.io", Version: "v1", Kind: "Issuer"}:                nil,
		{Group: "discovery.k8s.io", Version: "v1", Kind: "EndpointSlice"}:        nil,
		{Group: "taskgate.dev", Version: "v1alpha1", Kind: "Task"}:               nil,
		// Garbage-collected with the policy ConfigMap, its owner.
		{Group: "taskgate.dev", Version: "v1alpha1", Kind: "JobTTLParams"}: nil,
	}
	eventually(t, 2*time.Minute, "the release namespace to hold only what stays", func() (bool, error) {
		for gvk, want := range namespaced {
			if got := names(t, c, gvk, releaseNamespace, nil); !slices.Equal(got, want) {
				return false, fmt.Errorf("%s in %s: %v, want %v", gvk.Kind, releaseNamespace, got, want)
			}
		}
		return true, nil
	})
	instance := client.MatchingLabels{"app.kubernetes.io/instance": releaseName}
	for _, gvk := range []schema.GroupVersionKind{
		{Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "ClusterRole"},
		{Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "ClusterRoleBinding"},
		{Group: "admissionregistration.k8s.io", Version: "v1", Kind: "MutatingWebhookConfiguration"},
		{Group: "admissionregistration.k8s.io", Version: "v1", Kind: "ValidatingWebhookConfiguration"},
		{Group: "admissionregistration.k8s.io", Version: "v1", Kind: "MutatingAdmissionPolicy"},
		{Group: "admissionregistration.k8s.io", Version: "v1", Kind: "MutatingAdmissionPolicyBinding"},
		{Group: "admissionregistration.k8s.io", Version: "v1", Kind: "ValidatingAdmissionPolicy"},
		{Group: "admissionregistration.k8s.io", Version: "v1", Kind: "ValidatingAdmissionPolicyBinding"},
	} {
		if got := names(t, c, gvk, "", instance); len(got) != 0 {
			t.Errorf("after helm uninstall these %ss of the release remain: %v", gvk.Kind, got)
		}
	}
	// The CRDs stay, and with them the developers' objects.
	if got, want := names(t, c, schema.GroupVersionKind{Group: "apiextensions.k8s.io", Version: "v1", Kind: "CustomResourceDefinition"}, "", instance), []string{"apps.taskgate.dev", "jobttlparams.taskgate.dev", "tasks.taskgate.dev", "taskschedules.taskgate.dev"}; !slices.Equal(got, want) {
		t.Errorf("after helm uninstall the release's CRDs are %v, want %v kept", got, want)
	}
	if got, want := names(t, c, schema.GroupVersionKind{Group: "taskgate.dev", Version: "v1alpha1", Kind: "Task"}, tenant, nil), []string{"after-restart", "after-upgrade", "first"}; !slices.Equal(got, want) {
		t.Errorf("after helm uninstall the Tasks in %s are %v, want %v", tenant, got, want)
	}
}

// names lists the names of a kind's objects, sorted; a kind the apiserver
// does not serve has none.
func names(t *testing.T, c client.Client, gvk schema.GroupVersionKind, ns string, labels client.MatchingLabels) []string {
	t.Helper()
	list := &unstructured.UnstructuredList{}
	list.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
	opts := []client.ListOption{}
	if ns != "" {
		opts = append(opts, client.InNamespace(ns))
	}
	if labels != nil {
		opts = append(opts, labels)
	}
	if err := c.List(context.Background(), list, opts...); err != nil {
		if apierrors.IsNotFound(err) || strings.Contains(err.Error(), "no matches for kind") {
			return nil
		}
		t.Fatalf("listing %s: %v", gvk.Kind, err)
	}
	var out []string
	for _, item := range list.Items {
		out = append(out, item.GetName())
	}
	sort.Strings(out)
	return out
}

// logs reads a container's logs through the apiserver, which asks the real
// node's kubelet.
func logs(t *testing.T, ns, pod, container string) string {
	t.Helper()
	out, err := cluster.ContainerLogs(context.Background(), ns, pod, container)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
