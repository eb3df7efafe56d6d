package bench

import (
	"context"
	"fmt"

	dto "github.com/prometheus/client_model/go"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	taskgatev1alpha1 "github.com/taskgate/taskgate/api/v1alpha1"
	"github.com/taskgate/taskgate/jobadmission"
	"github.com/taskgate/taskgate/policy"
	"github.com/taskgate/taskgate/test/localcluster"
)

// setupWebhooks names the webhook each setup calls, if any.
var setupWebhooks = map[string]string{SetupFixed: fixedPatchWebhook, SetupHook: jobWebhook}

// webhookCalls is what kube-apiserver's metrics say of its calls to one
// webhook: the sum of their durations, their count, and how many failed
// and were let through, as a webhook that fails open is.
type webhookCalls struct{ seconds, count, failedOpen float64 }

// callsMade checks that, from before to after, a setup's webhook was called
// for each of its jobs creates and never failed: a webhook that fails open
// lets the Job through unmutated, faster than any answer, and the figure
// would read that as its cost.
func callsMade(before, after webhookCalls, jobs int) error {
	if failed := after.failedOpen - before.failedOpen; failed > 0 {
		return fmt.Errorf("%.0f calls failed and let the Job through unmutated; see the webhook's log", failed)
	}
	if called := after.count - before.count; called < float64(jobs) {
		return fmt.Errorf("called %.0f times for %d Jobs", called, jobs)
	}
	return nil
}

// webhookCalls reads kube-apiserver's metrics of its calls to admission
// webhooks, by webhook name.
func (e *Env) webhookCalls(ctx context.Context) (map[string]webhookCalls, error) {
	families, err := e.apiserverMetrics(ctx)
	if err != nil {
		return nil, err
	}
	calls := map[string]webhookCalls{}
	each := func(family string, add func(*webhookCalls, *dto.Metric)) {
		for _, m := range families[family].GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "name" {
					c := calls[l.GetValue()]
					add(&c, m)
					calls[l.GetValue()] = c
				}
			}
		}
	}
	each("apiserver_admission_webhook_admission_duration_seconds", func(c *webhookCalls, m *dto.Metric) {
		c.seconds += m.GetHistogram().GetSampleSum()
		c.count += float64(m.GetHistogram().GetSampleCount())
	})
	each("apiserver_admission_webhook_fail_open_count", func(c *webhookCalls, m *dto.Metric) {
		c.failedOpen += m.GetCounter().GetValue()
	})
	return calls, nil
}

// scopeAdmission puts taskgate's Job webhook, the hand-written
// MutatingAdmissionPolicy and taskgate's generated policies in place side
// by side, each for the namespaces of its setup only: the webhook
// configuration, hook, as the chart made it but for setupLabel, and each
// policy with its binding.
func (e *Env) scopeAdmission(ctx context.Context, hook *admissionregistrationv1.MutatingWebhookConfiguration) error {
	scoped := hook.DeepCopy()
	for i := range scoped.Webhooks {
		if w := &scoped.Webhooks[i]; w.Name == jobWebhook {
			scopeTo(w, keyHook)
		}
	}
	if err := e.replaceWebhookConfiguration(ctx, scoped); err != nil {
		return fmt.Errorf("scoping the Job webhook: %w", err)
	}
	var handWritten admissionregistrationv1.MutatingAdmissionPolicy
	if err := yaml.UnmarshalStrict([]byte(mutatingPolicy), &handWritten); err != nil {
		return fmt.Errorf("decoding the MutatingAdmissionPolicy: %w", err)
	}
	handWritten.Spec.MatchConstraints.NamespaceSelector = &metav1.LabelSelector{MatchLabels: map[string]string{setupLabel: keyPolicy}}
	var binding admissionregistrationv1.MutatingAdmissionPolicyBinding
	if err := yaml.UnmarshalStrict([]byte(mutatingPolicyBinding), &binding); err != nil {
		return fmt.Errorf("decoding its binding: %w", err)
	}
	for _, o := range []client.Object{&handWritten, &binding} {
		if err := client.IgnoreAlreadyExists(e.Client.Create(ctx, o)); err != nil {
			return fmt.Errorf("creating the MutatingAdmissionPolicy: %w", err)
		}
	}
	objs, err := taskgatePolicies()
	if err != nil {
		return err
	}
	for _, o := range objs {
		if err := client.IgnoreAlreadyExists(e.Client.Create(ctx, o)); err != nil {
			return fmt.Errorf("creating taskgate's admission policies: %w", err)
		}
	}
	return nil
}

// taskgatePolicy names taskgate's generated admission policies, their
// bindings and their JobTTLParams in the bench.
const taskgatePolicy = "bench-taskgate-job-ttl"

// taskgatePolicies are taskgate's generated admission policies, the
// mutating one and the validating one for its warnings, bound as the chart
// binds them (localcluster.JobAdmissionPolicies: params in the manager's
// namespace, the policy's opt-out label as an object selector) but to the
// taskgate policy setup's namespaces, and
// the JobTTLParams compiled from benchPolicy, the policy the manager runs
// with. The manager runs with its Job webhook, so it writes no params of
// its own: the bench writes them.
func taskgatePolicies() ([]client.Object, error) {
	p, err := policy.Load([]byte(benchPolicy))
	if err != nil {
		return nil, fmt.Errorf("loading the bench policy: %w", err)
	}
	p.ManagerNamespace = managerNamespace
	spec, errs := jobadmission.Params(p)
	if len(errs) > 0 {
		return nil, fmt.Errorf("compiling the bench policy for admission: %w", errs.ToAggregate())
	}
	// The params name the label, defaulted, as the chart's selector does.
	optOut := spec.OptOutLabel
	match := &admissionregistrationv1.MatchResources{
		NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{setupLabel: keyTaskgatePolicy}},
		ObjectSelector: &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
			{Key: optOut, Operator: metav1.LabelSelectorOpNotIn, Values: []string{policy.OptOutValue}},
		}},
	}
	params := &taskgatev1alpha1.JobTTLParams{ObjectMeta: metav1.ObjectMeta{Namespace: managerNamespace, Name: taskgatePolicy, Labels: jobadmission.Labels(spec)}, Spec: spec}
	return append([]client.Object{params}, localcluster.JobAdmissionPolicies(taskgatePolicy, match, managerNamespace, taskgatePolicy)...), nil
}

// scopeTo narrows w to the namespaces of the setup keyed key.
func scopeTo(w *admissionregistrationv1.MutatingWebhook, key string) {
	if w.NamespaceSelector == nil {
		w.NamespaceSelector = &metav1.LabelSelector{}
	}
	w.NamespaceSelector.MatchExpressions = append(w.NamespaceSelector.MatchExpressions, metav1.LabelSelectorRequirement{
		Key: setupLabel, Operator: metav1.LabelSelectorOpIn, Values: []string{key},
	})
}

// unscopeAdmission undoes scopeAdmission and the fixed-patch webhook's
// registration: hook as it was, and none of the policies nor the
// fixed-patch webhook registered.
func (e *Env) unscopeAdmission(ctx context.Context, hook *admissionregistrationv1.MutatingWebhookConfiguration) error {
	if err := e.replaceWebhookConfiguration(ctx, hook.DeepCopy()); err != nil {
		return fmt.Errorf("restoring the Job webhook: %w", err)
	}
	if err := e.unregisterFixedPatchWebhook(ctx); err != nil {
		return err
	}
	for _, o := range []client.Object{
		&admissionregistrationv1.MutatingAdmissionPolicyBinding{ObjectMeta: metav1.ObjectMeta{Name: "bench-app-env"}},
		&admissionregistrationv1.MutatingAdmissionPolicy{ObjectMeta: metav1.ObjectMeta{Name: "bench-app-env"}},
		&admissionregistrationv1.MutatingAdmissionPolicyBinding{ObjectMeta: metav1.ObjectMeta{Name: taskgatePolicy}},
		&admissionregistrationv1.MutatingAdmissionPolicy{ObjectMeta: metav1.ObjectMeta{Name: taskgatePolicy}},
		&admissionregistrationv1.ValidatingAdmissionPolicyBinding{ObjectMeta: metav1.ObjectMeta{Name: taskgatePolicy}},
		&admissionregistrationv1.ValidatingAdmissionPolicy{ObjectMeta: metav1.ObjectMeta{Name: taskgatePolicy}},
		&taskgatev1alpha1.JobTTLParams{ObjectMeta: metav1.ObjectMeta{Namespace: managerNamespace, Name: taskgatePolicy}},
	} {
		if err := client.IgnoreNotFound(e.Client.Delete(ctx, o)); err != nil {
			return fmt.Errorf("deleting the admission policies: %w", err)
		}
	}
	return nil
}

// replaceWebhookConfiguration writes want's webhooks over the live
// configuration of the same name.
func (e *Env) replaceWebhookConfiguration(ctx context.Context, want *admissionregistrationv1.MutatingWebhookConfiguration) error {
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		live := &admissionregistrationv1.MutatingWebhookConfiguration{}
		if err := e.Client.Get(ctx, client.ObjectKeyFromObject(want), live); err != nil {
			return err
		}
		live.Webhooks = want.Webhooks
		return e.Client.Update(ctx, live)
	})
}

// jobWebhookConfiguration returns a copy of the MutatingWebhookConfiguration
// that holds taskgate's Job webhook, to restore when the figure is done.
func (e *Env) jobWebhookConfiguration(ctx context.Context) (*admissionregistrationv1.MutatingWebhookConfiguration, error) {
	var list admissionregistrationv1.MutatingWebhookConfigurationList
	if err := e.Client.List(ctx, &list); err != nil {
		return nil, fmt.Errorf("listing webhook configurations: %w", err)
	}
	for _, c := range list.Items {
		for _, w := range c.Webhooks {
			if w.Name == jobWebhook {
				c := c.DeepCopy()
				c.ObjectMeta = metav1.ObjectMeta{Name: c.Name, Labels: c.Labels, Annotations: c.Annotations}
				return c, nil
			}
		}
	}
	return nil, fmt.Errorf("no MutatingWebhookConfiguration holds %s", jobWebhook)
}
