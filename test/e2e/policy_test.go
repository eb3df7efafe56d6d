package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// policyConfigMap renders the policy ConfigMap with the given document,
// with the kwok script annotations allowed (withScriptAnnotations).
func policyConfigMap(doc string) string {
	doc = withScriptAnnotations(doc)
	return "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: taskgate-policy\n  namespace: " + managerNamespace +
		"\ndata:\n  policy.yaml: |\n    " + strings.ReplaceAll(strings.TrimSpace(doc), "\n", "\n    ") + "\n"
}

// ttlPolicy is a policy whose one rule gives Jobs in ns a creation TTL.
func ttlPolicy(ns string, ttl int) string {
	return fmt.Sprintf(`apiVersion: taskgate.dev/v1alpha1
kind: Policy
ttl:
  rules:
  - name: e2e-created
    kinds: [Job]
    namespaces: [%s]
    when: Created
    ttlSecondsAfterFinished: %d`, ns, ttl)
}

// applyTTLRules applies a policy of these TTL rules, each a YAML flow
// mapping, and puts the defaults back when the test ends.
func applyTTLRules(t *testing.T, c client.Client, rules ...string) {
	t.Helper()
	t.Cleanup(func() { resetPolicy(t, c) })
	doc := "apiVersion: taskgate.dev/v1alpha1\nkind: Policy\nttl:\n  rules:\n  - " + strings.Join(rules, "\n  - ")
	mustKubectl(t, policyConfigMap(doc), "apply", "-f", "-")
}

// resetPolicy puts the base policy back: the defaults, with the kwok
// script annotations allowed.
func resetPolicy(t *testing.T, c client.Client) {
	t.Helper()
	if err := applyBasePolicy(context.Background(), c); err != nil {
		t.Fatal(err)
	}
}

// admittedJob creates a Job as a server-side dry run, so it passes every
// admission webhook without being stored, and returns what admission made
// of it.
func admittedJob(t *testing.T, c client.Client, ns string) *batchv1.Job {
	t.Helper()
	job := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, GenerateName: "probe-"},
		Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
			RestartPolicy: corev1.RestartPolicyNever,
			Containers:    []corev1.Container{{Name: "main", Image: "registry.example.com/app:v1"}},
		}}},
	}
	if err := c.Create(context.Background(), job, client.DryRunAll); err != nil {
		t.Fatalf("creating Job (dry run): %v", err)
	}
	return job
}

func ttlOf(job *batchv1.Job) string {
	if job.Spec.TTLSecondsAfterFinished == nil {
		return "none"
	}
	return strconv.Itoa(int(*job.Spec.TTLSecondsAfterFinished))
}

// waitForJobTTL waits until admission gives a new Job in ns the TTL want.
func waitForJobTTL(t *testing.T, c client.Client, ns, want string) *batchv1.Job {
	t.Helper()
	var job *batchv1.Job
	eventually(t, 30*time.Second, "new Jobs to get TTL "+want, func() (bool, error) {
		job = admittedJob(t, c, ns)
		return ttlOf(job) == want, fmt.Errorf("TTL is %s", ttlOf(job))
	})
	return job
}

func metricValue(t *testing.T, name string) float64 {
	t.Helper()
	resp, err := http.Get(running.metricsURL)
	if err != nil {
		t.Fatalf("scraping metrics: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + ` (\S+)$`).FindSubmatch(body)
	if m == nil {
		t.Fatalf("metric %s not exported", name)
	}
	v, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil {
		t.Fatalf("parsing %s: %v", name, err)
	}
	return v
}

func TestBadPolicyIsDeniedWithFieldPath(t *testing.T) {
	c := newClient(t)
	t.Cleanup(func() { resetPolicy(t, c) })
	tests := []struct {
		name, doc, want string
	}{{
		name: "unsupported when",
		doc:  "apiVersion: taskgate.dev/v1alpha1\nkind: Policy\nttl:\n  rules:\n  - {name: r, kinds: [Job], when: Done, ttlSecondsAfterFinished: 5}",
		want: `The ConfigMap "taskgate-policy" is invalid: data[policy.yaml].ttl.rules[0].when: Unsupported value: "Done": supported values: "Created", "Failed", "Finished", "Succeeded"`,
	}, {
		name: "misspelt field",
		doc:  "apiVersion: taskgate.dev/v1alpha1\nkind: Policy\nttl:\n  rulez: []",
		want: `data[policy.yaml].ttl.rulez`,
	}, {
		name: "negative TTL",
		doc:  "apiVersion: taskgate.dev/v1alpha1\nkind: Policy\nttl:\n  rules:\n  - {name: r, kinds: [Job], when: Failed, ttlSecondsAfterFinished: -1}",
		want: `data[policy.yaml].ttl.rules[0].ttlSecondsAfterFinished: Invalid value: -1`,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := kubectl(t, policyConfigMap(tt.doc), "apply", "-f", "-")
			if err == nil {
				t.Fatalf("kubectl apply accepted a bad policy:\n%s", out)
			}
			if !strings.Contains(out, tt.want) {
				t.Fatalf("kubectl apply said:\n%s\nwant it to contain:\n%s", out, tt.want)
			}
		})
	}
}

func TestPolicyHotReload(t *testing.T) {
	c := newClient(t)
	ns := newNamespace(t, c)
	t.Cleanup(func() { resetPolicy(t, c) })

	mustKubectl(t, policyConfigMap(ttlPolicy(ns, 111)), "apply", "-f", "-")
	job := waitForJobTTL(t, c, ns, "111")
	if got := job.Annotations["taskgate.dev/policy-decision"]; got != "set ttlSecondsAfterFinished=111 (rule e2e-created)" {
		t.Fatalf("decision annotation = %q", got)
	}

	// A new policy applies to the next admission, without a restart.
	mustKubectl(t, policyConfigMap(ttlPolicy(ns, 222)), "apply", "-f", "-")
	waitForJobTTL(t, c, ns, "222")

	// A bad policy stored behind the webhook's back leaves the last good
	// one in force, with a Warning Event and a metric.
	errorsBefore := metricValue(t, "taskgate_policy_reload_errors_total")
	withoutWebhooks(t, c, &admissionv1.ValidatingWebhookConfiguration{}, func() {
		mustKubectl(t, policyConfigMap("apiVersion: taskgate.dev/v1alpha1\nkind: Policy\nmode: loud"), "apply", "-f", "-")
	})
	eventually(t, 30*time.Second, "a Warning Event on the policy ConfigMap", func() (bool, error) {
		var events eventsv1.EventList
		if err := c.List(context.Background(), &events, client.InNamespace(managerNamespace)); err != nil {
			return false, err
		}
		for _, e := range events.Items {
			if e.Regarding.Name == "taskgate-policy" && e.Type == corev1.EventTypeWarning && e.Reason == "InvalidPolicy" &&
				strings.Contains(e.Note, `data[policy.yaml].mode: Unsupported value: "loud"`) {
				return true, nil
			}
		}
		return false, nil
	})
	if got := metricValue(t, "taskgate_policy_reload_errors_total"); got != errorsBefore+1 {
		t.Fatalf("taskgate_policy_reload_errors_total = %v, want %v", got, errorsBefore+1)
	}
	if job := admittedJob(t, c, ns); ttlOf(job) != "222" {
		t.Fatalf("after a bad policy, new Jobs get TTL %s, want the last good policy's 222", ttlOf(job))
	}

	// No policy ConfigMap: the documented defaults, which set no TTL.
	resetPolicy(t, c)
	waitForJobTTL(t, c, ns, "none")
}

// withoutWebhooks runs f with one of taskgate's webhook configurations
// unregistered, as if that webhook were down or bypassed, and restores it.
func withoutWebhooks(t *testing.T, c client.Client, config client.Object, f func()) {
	t.Helper()
	if err := c.Get(context.Background(), client.ObjectKey{Name: "taskgate"}, config); err != nil {
		t.Fatalf("reading the webhook configuration: %v", err)
	}
	saved := config.DeepCopyObject().(client.Object)
	if err := c.Delete(context.Background(), config); err != nil {
		t.Fatalf("removing the webhook configuration: %v", err)
	}
	defer func() {
		saved.SetResourceVersion("")
		saved.SetUID("")
		if err := c.Create(context.Background(), saved); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatalf("restoring the webhook configuration: %v", err)
		}
	}()
	// The apiserver drops a deleted webhook from its view within moments.
	time.Sleep(2 * time.Second)
	f()
}

func TestAuditModeReportsAndChangesNothing(t *testing.T) {
	c := newClient(t)
	ns := newNamespace(t, c)
	t.Cleanup(func() { resetPolicy(t, c) })
	mustKubectl(t, policyConfigMap("mode: audit\n"+ttlPolicy(ns, 333)), "apply", "-f", "-")

	want := "audit: would set ttlSecondsAfterFinished=333 (rule e2e-created)"
	job := "apiVersion: batch/v1\nkind: Job\nmetadata: {name: audited}\nspec:\n  template:\n    spec:\n      restartPolicy: Never\n      containers: [{name: main, image: registry.example.com/app:v1}]\n"
	var out string
	eventually(t, 30*time.Second, "the audit policy to load", func() (bool, error) {
		var err error
		out, err = kubectl(t, job, "create", "-n", ns, "--dry-run=server", "-o", "jsonpath={.spec.ttlSecondsAfterFinished}|{.metadata.annotations.taskgate\\.dev/policy-decision}", "-f", "-")
		return err == nil && strings.Contains(out, want), fmt.Errorf("kubectl said %q (%v)", out, err)
	})
	// The warning goes to stderr, the TTL (none) and annotation to stdout.
	if !strings.Contains(out, "Warning: taskgate: "+want) {
		t.Fatalf("no admission warning in:\n%s", out)
	}
	if !strings.Contains(out, "\n|"+want) && !strings.HasPrefix(out, "|"+want) {
		t.Fatalf("audit mode changed the TTL or lost the annotation:\n%s", out)
	}
	// Stored for real, the decision is also an Event on the Job.
	mustKubectl(t, job, "create", "-n", ns, "-f", "-")
	waitForEvent(t, c, ns, "audited", "AuditTTL", want)
}

// waitForEvent waits for an Event about the named object with that reason
// and note.
func waitForEvent(t *testing.T, c client.Client, ns, name, reason, note string) {
	t.Helper()
	eventually(t, 30*time.Second, "Event "+reason+" on "+name, func() (bool, error) {
		var events eventsv1.EventList
		if err := c.List(context.Background(), &events, client.InNamespace(ns)); err != nil {
			return false, err
		}
		for _, e := range events.Items {
			if e.Regarding.Name == name && e.Reason == reason && e.Note == note {
				return true, nil
			}
		}
		return false, nil
	})
}
