package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	yaml "sigs.k8s.io/yaml/goyaml.v3"

	"github.com/taskgate/taskgate/api/v1alpha1"
)

// scriptAnnotations are the annotations that script a kwok pod
// (localcluster.AnnotationExitCode and the others). Policy lets no Task
// annotation reach a pod unless tasks.podMetadata lists it, so every policy
// the tests apply lists these unless it says otherwise.
const scriptAnnotations = "localcluster.taskgate.dev/*"

// basePolicy is the policy in force between tests: the defaults, with the
// kwok script annotations allowed.
var basePolicy = withScriptAnnotations("apiVersion: taskgate.dev/v1alpha1\nkind: Policy\n")

// withScriptAnnotations adds scriptAnnotations to a policy document that
// sets no tasks.podMetadata.annotations of its own. A document that is not
// a YAML mapping, or whose tasks is not one, is returned as it is, so a
// test of a malformed policy sees its own document.
func withScriptAnnotations(doc string) string {
	var root yaml.Node
	if err := yaml.Unmarshal([]byte(doc), &root); err != nil || len(root.Content) != 1 || root.Content[0].Kind != yaml.MappingNode {
		return doc
	}
	tasks := mappingValue(root.Content[0], "tasks")
	if tasks == nil {
		tasks = &yaml.Node{Kind: yaml.MappingNode}
		appendKey(root.Content[0], "tasks", tasks)
	}
	if tasks.Kind != yaml.MappingNode {
		return doc
	}
	podMetadata := mappingValue(tasks, "podMetadata")
	if podMetadata == nil {
		podMetadata = &yaml.Node{Kind: yaml.MappingNode, Style: yaml.FlowStyle}
		appendKey(tasks, "podMetadata", podMetadata)
	}
	if podMetadata.Kind != yaml.MappingNode || mappingValue(podMetadata, "annotations") != nil {
		return doc
	}
	appendKey(podMetadata, "annotations", &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle,
		Content: []*yaml.Node{{Kind: yaml.ScalarNode, Value: scriptAnnotations, Style: yaml.DoubleQuotedStyle}}})
	var out bytes.Buffer
	enc := yaml.NewEncoder(&out)
	enc.SetIndent(2)
	if err := enc.Encode(&root); err != nil {
		return doc
	}
	return out.String()
}

func mappingValue(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

func appendKey(m *yaml.Node, key string, value *yaml.Node) {
	m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: key}, value)
}

// applyBasePolicy writes basePolicy to the policy ConfigMap.
func applyBasePolicy(ctx context.Context, c client.Client) error {
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: managerNamespace, Name: "taskgate-policy"}}
	err := c.Get(ctx, client.ObjectKeyFromObject(cm), cm)
	cm.Data = map[string]string{"policy.yaml": basePolicy}
	switch {
	case apierrors.IsNotFound(err):
		err = c.Create(ctx, cm)
	case err == nil:
		err = c.Update(ctx, cm)
	}
	if err != nil {
		return fmt.Errorf("writing the base policy: %w", err)
	}
	// The next test may script a pod at once.
	return waitForPolicy(ctx, cm.ResourceVersion)
}

// waitForPolicy waits until the manager enforces the policy ConfigMap of
// this resourceVersion.
func waitForPolicy(ctx context.Context, resourceVersion string) error {
	want := fmt.Sprintf(`resource_version=%q`, resourceVersion)
	deadline := time.Now().Add(30 * time.Second)
	for {
		body, err := scrape(ctx, running.metricsURL)
		if err == nil && slices.ContainsFunc(strings.Split(body, "\n"), func(l string) bool {
			return strings.HasPrefix(l, "taskgate_policy_info{") && strings.Contains(l, want)
		}) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the manager did not load the policy of resourceVersion %s in 30s: %v", resourceVersion, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func scrape(ctx context.Context, url string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return string(body), err
}

// bindSecurityGroups applies a policy that binds groups to ns, and puts the
// base policy back when the test ends.
func bindSecurityGroups(t *testing.T, c client.Client, ns string, groups ...string) {
	t.Helper()
	t.Cleanup(func() { resetPolicy(t, c) })
	mustKubectl(t, policyConfigMap(fmt.Sprintf("apiVersion: taskgate.dev/v1alpha1\nkind: Policy\ntasks:\n  securityGroups: [{name: e2e, groups: [%s], namespaces: [%s]}]",
		strings.Join(groups, ", "), ns)), "apply", "-f", "-")
	cm := &corev1.ConfigMap{}
	if err := c.Get(context.Background(), client.ObjectKey{Namespace: managerNamespace, Name: "taskgate-policy"}, cm); err != nil {
		t.Fatal(err)
	}
	if err := waitForPolicy(context.Background(), cm.ResourceVersion); err != nil {
		t.Fatal(err)
	}
}

// warningsOf returns what kubectl printed as admission warnings.
func warningsOf(out string) []string {
	var w []string
	for _, line := range strings.Split(out, "\n") {
		if s, ok := strings.CutPrefix(line, "Warning: "); ok {
			w = append(w, s)
		}
	}
	return w
}

// TestTaskPodMetadataAllowlist: of a Task's annotations and labels, exactly
// those policy tasks.podMetadata allows reach its pod, with taskgate's own
// labels; the rest are named in admission warnings. A Task label naming a
// security group never reaches the pod.
func TestTaskPodMetadataAllowlist(t *testing.T) {
	c := newClient(t)
	ns := newNamespace(t, c)
	t.Cleanup(func() { resetPolicy(t, c) })
	mustKubectl(t, policyConfigMap(`apiVersion: taskgate.dev/v1alpha1
kind: Policy
tasks:
  podMetadata:
    annotations: [example.com/owner]
    labels: ["example.com/*"]`), "apply", "-f", "-")
	app := newApp(t, c, ns, "shop")

	taskYAML := `apiVersion: taskgate.dev/v1alpha1
kind: Task
metadata:
  name: report
  annotations:
    example.com/owner: team-a
    sidecar.istio.io/inject: "false"
  labels:
    example.com/tier: batch
    team: a
    taskgate.dev/sg-db-egress: "true"
spec:
  appRef: {name: shop}
`
	want := []string{
		"annotations not copied to the pod (policy tasks.podMetadata.annotations): sidecar.istio.io/inject",
		"labels not copied to the pod (policy tasks.podMetadata.labels): team",
	}
	// The manager reloads the policy within moments; until then the
	// warnings are the defaults'.
	var warnings []string
	eventually(t, 30*time.Second, "the allowlist's warnings", func() (bool, error) {
		out := mustKubectl(t, taskYAML, "create", "--dry-run=server", "-n", ns, "-f", "-")
		warnings = warningsOf(out)
		return reflect.DeepEqual(warnings, want), fmt.Errorf("warnings %q, want %q", warnings, want)
	})
	out := mustKubectl(t, taskYAML, "create", "-n", ns, "-f", "-")
	if got := warningsOf(out); !reflect.DeepEqual(got, want) {
		t.Fatalf("warnings = %q, want %q", got, want)
	}

	task := &v1alpha1.Task{}
	eventually(t, 60*time.Second, "the Task's pod", func() (bool, error) {
		err := c.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "report"}, task)
		return err == nil && task.Status.PodName != "", fmt.Errorf("pod %q, err %v", task.Status.PodName, err)
	})
	pod := &corev1.Pod{}
	if err := c.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: task.Status.PodName}, pod); err != nil {
		t.Fatalf("the Task's pod: %v", err)
	}
	// Tekton, kwok and taskgate add their own; of the keys the Task was
	// created with, exactly the allowed ones are on the pod.
	sent := map[string]string{"example.com/owner": "", "sidecar.istio.io/inject": ""}
	if got, want := keysFrom(pod.Annotations, sent), map[string]string{"example.com/owner": "team-a"}; !reflect.DeepEqual(got, want) {
		t.Errorf("pod annotations from the Task = %v, want %v", got, want)
	}
	sent = map[string]string{"example.com/tier": "", "team": "", "taskgate.dev/sg-db-egress": ""}
	if got, want := keysFrom(pod.Labels, sent), map[string]string{"example.com/tier": "batch"}; !reflect.DeepEqual(got, want) {
		t.Errorf("pod labels from the Task = %v, want %v", got, want)
	}
	if pod.Labels[v1alpha1.LabelApp] != app.Name || pod.Labels[v1alpha1.LabelTask] != "report" || pod.Labels[v1alpha1.LabelTaskID] != "1" {
		t.Errorf("pod labels %v lack taskgate's %s=%s, %s=report and %s=1", pod.Labels, v1alpha1.LabelApp, app.Name, v1alpha1.LabelTask, v1alpha1.LabelTaskID)
	}
	for k := range pod.Labels {
		if strings.HasPrefix(k, v1alpha1.LabelSecurityGroupPrefix) {
			t.Errorf("pod has security-group label %s, which only an App may give", k)
		}
	}
}

// keysFrom returns the entries of got whose keys are among from's.
func keysFrom(got, from map[string]string) map[string]string {
	out := map[string]string{}
	for _, k := range slices.Sorted(maps.Keys(from)) {
		if v, ok := got[k]; ok {
			out[k] = v
		}
	}
	return out
}

// causesOf returns an Invalid API error's causes as "field: message".
func causesOf(t *testing.T, err error) []string {
	t.Helper()
	status, ok := err.(apierrors.APIStatus)
	if !ok || !apierrors.IsInvalid(err) || status.Status().Details == nil {
		t.Fatalf("error %v, want an Invalid API status", err)
	}
	var got []string
	for _, c := range status.Status().Details.Causes {
		got = append(got, c.Field+": "+c.Message)
	}
	return got
}

// TestSecurityGroupsAreBoundByAdmins: an App may use only the security
// groups policy binds to its namespace, by name or by the namespace's
// labels, and a Task of an App whose binding went away is denied.
func TestSecurityGroupsAreBoundByAdmins(t *testing.T) {
	c := newClient(t)
	ns := newNamespace(t, c)
	pci := newNamespace(t, c)
	label := "e2e.taskgate.dev/compliance-" + pci
	t.Cleanup(func() { resetPolicy(t, c) })
	mustKubectl(t, policyConfigMap(fmt.Sprintf(`apiVersion: taskgate.dev/v1alpha1
kind: Policy
tasks:
  securityGroups:
  - {name: web, groups: [web-egress, dns], namespaces: [%s]}
  - {name: pci, groups: [db-egress], namespaceSelector: {matchLabels: {%s: pci}}}`, ns, label)), "apply", "-f", "-")

	app := func(ns, name string, groups ...string) *v1alpha1.App {
		return &v1alpha1.App{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
			Spec:       v1alpha1.AppSpec{Image: "registry.example.com/shop/web:v1", Args: []string{"puma"}, SecurityGroups: groups},
		}
	}
	want := []string{fmt.Sprintf(`spec.securityGroups[1]: Forbidden: security group "db-egress" is not bound to namespace %q; it may use: "web-egress", "dns" (policy tasks.securityGroups); ask a cluster admin to bind it`, ns)}
	var got []string
	eventually(t, 30*time.Second, "the unbound group to be denied", func() (bool, error) {
		err := c.Create(context.Background(), app(ns, "shop", "web-egress", "db-egress"), client.DryRunAll)
		if err == nil {
			return false, fmt.Errorf("admitted")
		}
		got = causesOf(t, err)
		return reflect.DeepEqual(got, want), fmt.Errorf("causes %q", got)
	})
	if err := c.Create(context.Background(), app(ns, "shop", "web-egress", "dns")); err != nil {
		t.Fatalf("an App with bound groups: %v", err)
	}

	// Bound by the namespace's labels.
	err := c.Create(context.Background(), app(pci, "ledger", "db-egress"))
	if got := causesOf(t, err); !reflect.DeepEqual(got, []string{fmt.Sprintf(
		`spec.securityGroups[0]: Forbidden: security group "db-egress" is not bound to namespace %q; it may use none (policy tasks.securityGroups); ask a cluster admin to bind it`, pci)}) {
		t.Fatalf("an App in an unlabelled namespace: causes %q", got)
	}
	setNamespaceLabel(t, c, pci, label, "pci")
	eventually(t, 30*time.Second, "the labelled namespace's App to be admitted", func() (bool, error) {
		err := c.Create(context.Background(), app(pci, "ledger", "db-egress"))
		return err == nil, err
	})
	task := func() *v1alpha1.Task {
		return &v1alpha1.Task{
			ObjectMeta: metav1.ObjectMeta{Namespace: pci, GenerateName: "close-"},
			Spec:       v1alpha1.TaskSpec{AppRef: v1alpha1.AppReference{Name: "ledger"}, Command: "rake close"},
		}
	}
	admitted := task()
	if err := c.Create(context.Background(), admitted, client.DryRunAll); err != nil {
		t.Fatalf("a Task of an App with a bound group: %v", err)
	}
	if admitted.Spec.Resolved.PodLabels[v1alpha1.LabelSecurityGroupPrefix+"db-egress"] != "true" {
		t.Fatalf("resolved pod labels %v lack the group's", admitted.Spec.Resolved.PodLabels)
	}

	// The binding goes away: the App stays, its new Tasks are denied.
	setNamespaceLabel(t, c, pci, label, "")
	wantTask := []string{fmt.Sprintf(
		`spec.appRef: Forbidden: App ledger: spec.securityGroups[0]: Forbidden: security group "db-egress" is not bound to namespace %q; it may use none (policy tasks.securityGroups); ask a cluster admin to bind it`, pci)}
	eventually(t, 30*time.Second, "a Task of the unbound App to be denied", func() (bool, error) {
		err := c.Create(context.Background(), task(), client.DryRunAll)
		if err == nil {
			return false, fmt.Errorf("admitted")
		}
		got = causesOf(t, err)
		return reflect.DeepEqual(got, wantTask), fmt.Errorf("causes %q", got)
	})
}

// setNamespaceLabel sets a label on a namespace, or removes it when value
// is empty.
func setNamespaceLabel(t *testing.T, c client.Client, ns, key, value string) {
	t.Helper()
	obj := &corev1.Namespace{}
	if err := c.Get(context.Background(), client.ObjectKey{Name: ns}, obj); err != nil {
		t.Fatal(err)
	}
	before := obj.DeepCopy()
	if obj.Labels == nil {
		obj.Labels = map[string]string{}
	}
	if value == "" {
		delete(obj.Labels, key)
	} else {
		obj.Labels[key] = value
	}
	if err := c.Patch(context.Background(), obj, client.MergeFrom(before)); err != nil {
		t.Fatalf("labelling namespace %s: %v", ns, err)
	}
}
