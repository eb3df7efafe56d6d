package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	jsonpatch "github.com/evanphx/json-patch/v5"
	"github.com/google/go-cmp/cmp"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	taskgatev1alpha1 "github.com/taskgate/taskgate/api/v1alpha1"
	"github.com/taskgate/taskgate/facts"
	"github.com/taskgate/taskgate/jobadmission"
	"github.com/taskgate/taskgate/patch"
	"github.com/taskgate/taskgate/policy"
	"github.com/taskgate/taskgate/test/localcluster"
)

// conformanceLabel marks the namespaces the conformance test's policy
// bindings select; its value is the case's policy.
const conformanceLabel = "conformance.taskgate.dev/policy"

// conformanceOptOut is the opt-out label of the conformance policies. The
// namespaces also carry the live policy's opt-out label, so the manager's
// own Job webhook, which the e2e cluster registers for every Job, leaves
// them alone.
const conformanceOptOut = "conformance.taskgate.dev/opt-out"

// conformancePolicies are policy documents whose Job part the generated
// admission policies must decide exactly as package policy does. Together
// they reach every documented edge: the first matching rule, the largest
// of the Created, success and failure rules, min, max and the hook floor,
// Respect and Override, a TTL marked as policy's, audit mode, exempt
// namespaces and the opt-out label, operator Jobs, selectors of every
// operator, and rules for Tasks only.
var conformancePolicies = map[string]string{
	"rules": `
ttl:
  minSeconds: 120
  maxSeconds: 90000
  hookFloorSeconds: 1800
  rules:
  - {name: tasks-only, kinds: [Task], when: Created, ttlSecondsAfterFinished: 5}
  - {name: web-created, kinds: [Job], when: Created, selector: {matchLabels: {app: web}}, ttlSecondsAfterFinished: 600}
  - {name: team-created, kinds: [Job, Task], namespaces: ["conformance-team-*"], when: Created, ttlSecondsAfterFinished: 3600}
  - {name: prod-failed, kinds: [Job], when: Failed, namespaceSelector: {matchLabels: {tier: prod}}, ttlSecondsAfterFinished: 172800}
  - {name: batch-finished, kinds: [Job], when: Finished, selector: {matchExpressions: [{key: batch, operator: Exists}, {key: stage, operator: NotIn, values: [test]}, {key: skip, operator: DoesNotExist}]}, ttlSecondsAfterFinished: 60}
  - {name: stage-succeeded, kinds: [Job], when: Succeeded, selector: {matchExpressions: [{key: stage, operator: In, values: [qa, test]}]}, ttlSecondsAfterFinished: 7200}
  - {name: operators, kinds: [Job], when: Created, includeOperatorJobs: true, selector: {matchLabels: {operated: "yes"}}, ttlSecondsAfterFinished: 30}
  - {name: everything-else, kinds: [Job], when: Created, namespaces: ["conformance-?", "conformance-[a-c]x*"], ttlSecondsAfterFinished: 900}
  - {name: bx1-succeeded, kinds: [Job], when: Succeeded, namespaces: [conformance-bx1], ttlSecondsAfterFinished: 5000}
exemptions:
  optOutLabel: ` + conformanceOptOut + `
  namespaces: ["conformance-exempt*"]
`,
	"override": `
ttl:
  explicit: Override
  rules:
  - {name: day, kinds: [Job], when: Created, ttlSecondsAfterFinished: 86400}
  - {name: hooks, kinds: [Job], when: Failed, selector: {matchLabels: {app: web}}, ttlSecondsAfterFinished: 10}
exemptions:
  optOutLabel: ` + conformanceOptOut + `
  namespaces: [conformance-b]
`,
	"audit": `
mode: audit
ttl:
  explicit: Override
  hookFloorSeconds: 100000
  rules:
  - {name: week, kinds: [Job], when: Finished, selector: {matchLabels: {app: web}}, ttlSecondsAfterFinished: 604800}
  - {name: hour, kinds: [Job], when: Created, namespaceSelector: {matchExpressions: [{key: tier, operator: In, values: [prod]}]}, ttlSecondsAfterFinished: 3600}
exemptions:
  optOutLabel: ` + conformanceOptOut + `
`,
	"none": `
ttl:
  rules:
  - {name: tasks, kinds: [Task], when: Created, ttlSecondsAfterFinished: 5}
exemptions:
  optOutLabel: ` + conformanceOptOut + `
`,
}

// conformanceNamespaces are the namespaces Jobs are created in, with their
// labels.
var conformanceNamespaces = map[string]map[string]string{
	"conformance-team-a":  {"tier": "prod"},
	"conformance-b":       {"tier": "dev"},
	"conformance-bx1":     nil,
	"conformance-exempt1": {"tier": "prod"},
	"conformance-out":     {conformanceOptOut: "disabled", "tier": "prod"},
}

// conformanceJob is a variant of a Job: what its author sends.
type conformanceJob struct {
	name        string
	labels      map[string]string
	annotations map[string]string
	owner       *metav1.OwnerReference
	ttl         *int32
}

var conformanceJobs = []conformanceJob{
	{name: "plain"},
	{name: "web", labels: map[string]string{"app": "web"}},
	{name: "batch", labels: map[string]string{"batch": "nightly"}},
	{name: "batch-test", labels: map[string]string{"batch": "nightly", "stage": "test"}},
	{name: "batch-qa", labels: map[string]string{"batch": "nightly", "stage": "qa"}},
	{name: "batch-skip", labels: map[string]string{"batch": "nightly", "skip": ""}},
	{name: "own-ttl", ttl: ptr.To[int32](100)},
	{name: "own-ttl-zero", ttl: ptr.To[int32](0)},
	{name: "policy-ttl", ttl: ptr.To[int32](100), annotations: map[string]string{policy.AnnotationTTLSource: policy.TTLSourcePolicy}},
	{name: "same-ttl", ttl: ptr.To[int32](86400), annotations: map[string]string{policy.AnnotationTTLSource: policy.TTLSourcePolicy}},
	{name: "helm-hook", annotations: map[string]string{"helm.sh/hook": "pre-install", "team": "a"}},
	{name: "argo-hook", labels: map[string]string{"app": "web"}, annotations: map[string]string{"argocd.argoproj.io/hook": "Sync"}},
	{name: "opted-out", labels: map[string]string{conformanceOptOut: "disabled"}},
	{name: "opted-in", labels: map[string]string{conformanceOptOut: "enabled"}},
	{name: "cronjob", owner: &metav1.OwnerReference{APIVersion: "batch/v1", Kind: "CronJob", Name: "nightly", UID: "0b7a4f7e-0000-4000-8000-000000000001", Controller: ptr.To(true)}},
	{name: "operator", owner: &metav1.OwnerReference{APIVersion: "example.com/v1", Kind: "Backup", Name: "b", UID: "0b7a4f7e-0000-4000-8000-000000000002", Controller: ptr.To(true)}},
	{name: "operated", labels: map[string]string{"operated": "yes"}, owner: &metav1.OwnerReference{APIVersion: "example.com/v1", Kind: "Backup", Name: "b", UID: "0b7a4f7e-0000-4000-8000-000000000003", Controller: ptr.To(true)}},
	{name: "not-controller", owner: &metav1.OwnerReference{APIVersion: "example.com/v1", Kind: "Backup", Name: "b", UID: "0b7a4f7e-0000-4000-8000-000000000004"}},
	{name: "undecided", labels: map[string]string{taskgatev1alpha1.LabelCompletionDecided: "true", "app": "web"}},
}

// TestJobAdmissionPoliciesMatchPolicy is the conformance test of package
// jobadmission: every Job of a table, in every namespace, under every
// policy, is created (a server-side dry run) through the generated
// admission policies on the real kube-apiserver, and its TTL, annotations,
// labels and warnings must be exactly what package policy decides and
// package patch writes, the Job webhook's own code.
func TestJobAdmissionPoliciesMatchPolicy(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	c := newClient(t)
	warnings := &warningRecorder{}
	cfg := rest.CopyConfig(cluster.Config)
	cfg.WarningHandler = warnings
	dry, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	paramsNS := newNamespace(t, c)
	for name, labels := range conformanceNamespaces {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: maps.Clone(labels)}}
		if ns.Labels == nil {
			ns.Labels = map[string]string{}
		}
		// The live policy's opt-out label keeps the manager's Job
		// webhook out.
		ns.Labels[policy.DefaultOptOutLabel] = policy.OptOutValue
		if err := c.Create(ctx, ns); err != nil {
			t.Fatalf("creating namespace %s: %v", name, err)
		}
		t.Cleanup(func() { _ = c.Delete(context.Background(), ns) })
	}
	installConformancePolicies(ctx, t, c, paramsNS)

	seen := map[string]int{}
	for policyName, doc := range conformancePolicies {
		p, err := policy.Load([]byte("apiVersion: taskgate.dev/v1alpha1\nkind: Policy\n" + doc))
		if err != nil {
			t.Fatalf("policy %s: %v", policyName, err)
		}
		p.ManagerNamespace = managerNamespace
		spec, errs := jobadmission.Params(p)
		if len(errs) > 0 {
			t.Fatalf("policy %s: compiling: %v", policyName, errs.ToAggregate())
		}
		writeConformanceParams(ctx, t, c, paramsNS, spec)
		for ns := range conformanceNamespaces {
			labelNamespace(ctx, t, c, ns, policyName)
		}
		waitForConformancePolicy(ctx, t, dry, warnings, p)
		for ns, nsLabels := range conformanceNamespaces {
			for _, variant := range conformanceJobs {
				name := fmt.Sprintf("%s/%s/%s", policyName, ns, variant.name)
				job := variant.job(ns)
				labels := map[string]string{conformanceLabel: policyName, policy.DefaultOptOutLabel: policy.OptOutValue}
				maps.Copy(labels, nsLabels)
				d := p.CreationTTL(facts.Object(policy.KindJob, &job.ObjectMeta, labels, job.Spec.TTLSecondsAfterFinished))
				seen[string(d.Outcome)+boolWord(d.Replaced, "/replaced")+boolWord(d.Audit, "/audit")+"/"+string(d.Bound)]++
				want, wantWarnings := expectedJob(t, job, d)

				got := job.DeepCopy()
				warnings.reset()
				if err := dry.Create(ctx, got, client.DryRunAll); err != nil {
					t.Errorf("%s: dry-run create: %v", name, err)
					continue
				}
				if diff := cmp.Diff(want, conformanceOutcome(got)); diff != "" {
					t.Errorf("%s: the admission policies decided otherwise than package policy (%s, rule %s) (-policy +apiserver):\n%s", name, d.Outcome, d.Rule, diff)
				}
				if diff := cmp.Diff(wantWarnings, warnings.taskgate()); diff != "" {
					t.Errorf("%s: warnings (-policy +apiserver):\n%s", name, diff)
				}
			}
		}
	}
	// The table must reach every kind of decision, or it proves less than
	// it says.
	for _, edge := range []string{
		"Set/", "Set/replaced/", "Set/minSeconds", "Set/maxSeconds", "Set/hookFloorSeconds", "Set/audit/", "Set/replaced/audit/",
		"Set/audit/hookFloorSeconds", "Unchanged/", "Explicit/", "NoRule/", "Exempt/", "Exempt/audit/",
	} {
		if seen[edge] == 0 {
			t.Errorf("no case decided %q; the table misses an edge (seen: %v)", edge, seen)
		}
	}
}

func boolWord(b bool, word string) string {
	if b {
		return word
	}
	return ""
}

func (v conformanceJob) job(ns string) *batchv1.Job {
	job := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: ns, Name: v.name, Labels: maps.Clone(v.labels), Annotations: maps.Clone(v.annotations),
		},
		Spec: batchv1.JobSpec{
			TTLSecondsAfterFinished: v.ttl,
			Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
				RestartPolicy: corev1.RestartPolicyNever,
				Containers:    []corev1.Container{{Name: "main", Image: "busybox"}},
			}},
		},
	}
	if v.owner != nil {
		job.OwnerReferences = []metav1.OwnerReference{*v.owner}
	}
	return job
}

// conformanceResult is what admission decides of a Job.
type conformanceResult struct {
	TTL         *int32
	Labels      map[string]string
	Annotations map[string]string
}

func conformanceOutcome(job *batchv1.Job) conformanceResult {
	labels := maps.Clone(job.Labels)
	// The Job's own, which kube-apiserver gives a Job with no labels
	// after admission, from its pod template's.
	for _, k := range []string{"batch.kubernetes.io/controller-uid", "batch.kubernetes.io/job-name", "controller-uid", "job-name"} {
		delete(labels, k)
	}
	if len(labels) == 0 {
		labels = nil
	}
	return conformanceResult{TTL: job.Spec.TTLSecondsAfterFinished, Labels: labels, Annotations: job.Annotations}
}

// expectedJob applies to job what the Job webhook would send for decision
// d, with its own patch builders, and returns the warnings it would give.
func expectedJob(t *testing.T, job *batchv1.Job, d policy.TTLDecision) (conformanceResult, []string) {
	t.Helper()
	ops := append(patch.JobTTL(job, d), patch.JobUndecided(job)...)
	want := job.DeepCopy()
	if len(ops) > 0 {
		raw, err := json.Marshal(job)
		if err != nil {
			t.Fatal(err)
		}
		opsJSON, err := json.Marshal(ops)
		if err != nil {
			t.Fatal(err)
		}
		p, err := jsonpatch.DecodePatch(opsJSON)
		if err != nil {
			t.Fatal(err)
		}
		patched, err := p.Apply(raw)
		if err != nil {
			t.Fatalf("applying the webhook's patch: %v", err)
		}
		want = &batchv1.Job{}
		if err := json.Unmarshal(patched, want); err != nil {
			t.Fatal(err)
		}
	}
	var warnings []string
	if d.Audit && d.TTL != nil || d.Replaced {
		warnings = append(warnings, "taskgate: "+d.String())
	}
	return conformanceOutcome(want), warnings
}

// installConformancePolicies creates the generated policies with bindings
// that select only the conformance namespaces and read the params in
// paramsNS, and removes them when the test ends.
func installConformancePolicies(ctx context.Context, t *testing.T, c client.Client, paramsNS string) {
	t.Helper()
	const name = "e2e-conformance-job-ttl"
	match := &admissionregistrationv1.MatchResources{NamespaceSelector: &metav1.LabelSelector{
		MatchExpressions: []metav1.LabelSelectorRequirement{{Key: conformanceLabel, Operator: metav1.LabelSelectorOpExists}},
	}}
	objs := localcluster.JobAdmissionPolicies(name, match, paramsNS, taskgatev1alpha1.JobTTLParamsName)
	for _, o := range objs {
		o.SetResourceVersion("")
		if err := c.Create(ctx, o); err != nil {
			t.Fatalf("creating %T %s: %v", o, o.GetName(), err)
		}
		t.Cleanup(func() { _ = c.Delete(context.Background(), o) })
	}
	// kube-apiserver type-checks the policies against the params' schema
	// and reports what does not compile in their status.
	if err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		vap := &admissionregistrationv1.ValidatingAdmissionPolicy{}
		if err := c.Get(ctx, client.ObjectKey{Name: name}, vap); err != nil {
			return false, err
		}
		if vap.Status.ObservedGeneration != vap.Generation {
			return false, nil
		}
		if tc := vap.Status.TypeChecking; tc != nil && len(tc.ExpressionWarnings) > 0 {
			return false, fmt.Errorf("the ValidatingAdmissionPolicy does not type-check: %+v", tc.ExpressionWarnings)
		}
		return true, nil
	}); err != nil {
		t.Fatal(err)
	}
}

func writeConformanceParams(ctx context.Context, t *testing.T, c client.Client, ns string, spec taskgatev1alpha1.JobTTLParamsSpec) {
	t.Helper()
	params := &taskgatev1alpha1.JobTTLParams{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: taskgatev1alpha1.JobTTLParamsName}}
	err := c.Get(ctx, client.ObjectKeyFromObject(params), params)
	params.Spec, params.Labels = spec, jobadmission.Labels(spec)
	switch {
	case apierrors.IsNotFound(err):
		err = c.Create(ctx, params)
	case err == nil:
		err = c.Update(ctx, params)
	}
	if err != nil {
		t.Fatalf("writing the params: %v", err)
	}
}

func labelNamespace(ctx context.Context, t *testing.T, c client.Client, name, policyName string) {
	t.Helper()
	ns := &corev1.Namespace{}
	if err := c.Get(ctx, client.ObjectKey{Name: name}, ns); err != nil {
		t.Fatal(err)
	}
	ns.Labels[conformanceLabel] = policyName
	if err := c.Update(ctx, ns); err != nil {
		t.Fatalf("labelling namespace %s: %v", name, err)
	}
}

// waitForConformancePolicy waits until kube-apiserver admits by the params
// just written: its informers see the params and the namespaces' labels a
// moment after the writes. It probes with a Job whose decision differs
// between every two of the policies.
func waitForConformancePolicy(ctx context.Context, t *testing.T, dry client.Client, warnings *warningRecorder, p *policy.Policy) {
	t.Helper()
	probe := conformanceJob{name: "probe", labels: map[string]string{"app": "web", "stage": "qa"}}
	ns := "conformance-team-a"
	labels := map[string]string{conformanceLabel: "", policy.DefaultOptOutLabel: policy.OptOutValue}
	maps.Copy(labels, conformanceNamespaces[ns])
	job := probe.job(ns)
	want, _ := expectedJob(t, job, p.CreationTTL(facts.Object(policy.KindJob, &job.ObjectMeta, labels, nil)))
	var last conformanceResult
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		got := job.DeepCopy()
		if err := dry.Create(ctx, got, client.DryRunAll); err != nil {
			return false, err
		}
		last = conformanceOutcome(got)
		return cmp.Equal(want, last), nil
	})
	if err != nil {
		t.Fatalf("the admission policies did not take up the params in 30 s: %v; the probe Job got %+v, want %+v", err, last, want)
	}
}

// warningRecorder keeps the warnings of the last request.
type warningRecorder struct {
	mu       sync.Mutex
	messages []string
}

func (w *warningRecorder) HandleWarningHeader(_ int, _ string, message string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.messages = append(w.messages, message)
}

func (w *warningRecorder) reset() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.messages = nil
}

// taskgate returns taskgate's warnings, without the prefix kube-apiserver
// puts before a ValidatingAdmissionPolicy's message.
func (w *warningRecorder) taskgate() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []string
	for _, m := range w.messages {
		if i := strings.Index(m, "taskgate: "); i >= 0 {
			out = append(out, m[i:])
		}
	}
	slices.Sort(out)
	return out
}
