package bench

import (
	"context"
	"fmt"
	"time"

	dto "github.com/prometheus/client_model/go"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	taskgatev1alpha1 "github.com/taskgate/taskgate/api/v1alpha1"
	"github.com/taskgate/taskgate/test/localcluster"
)

// Setup names for the admission figure.
const (
	SetupNone   = "no webhook"
	SetupHook   = "taskgate webhook"
	SetupPolicy = "MutatingAdmissionPolicy"
)

// creationTTL is what benchPolicy gives a new Job: the longest completion
// TTL, so no outcome is cut short before it is known.
const creationTTL = 604800

// mutatingPolicy is the same mutation as taskgate's Job webhook under
// benchPolicy, written as an in-tree MutatingAdmissionPolicy: the creation
// TTL, and the env of the App named like the Job's label. CEL cannot pick
// the param by the label's value, so the binding names the App; the
// namespace is the Job's, as taskgate's lookup is. Unlike taskgate, an
// apply configuration overrides env the Job already sets.
const mutatingPolicy = `apiVersion: admissionregistration.k8s.io/v1
kind: MutatingAdmissionPolicy
metadata: {name: bench-app-env}
spec:
  paramKind: {apiVersion: taskgate.dev/v1alpha1, kind: App}
  matchConstraints:
    resourceRules:
    - {apiGroups: [batch], apiVersions: [v1], operations: [CREATE], resources: [jobs]}
  matchConditions:
  - name: labelled
    expression: "has(object.metadata.labels) && 'taskgate.dev/app' in object.metadata.labels"
  failurePolicy: Fail
  reinvocationPolicy: Never
  mutations:
  - patchType: ApplyConfiguration
    applyConfiguration:
      expression: >
        Object{spec: Object.spec{
          ttlSecondsAfterFinished: 604800,
          template: Object.spec.template{spec: Object.spec.template.spec{
            containers: object.spec.template.spec.containers.map(c, Object.spec.template.spec.containers{
              name: c.name,
              env: params.spec.env.map(e, Object.spec.template.spec.containers.env{name: e.name, value: e.value})
            })
          }}
        }}
`

const mutatingPolicyBinding = `apiVersion: admissionregistration.k8s.io/v1
kind: MutatingAdmissionPolicyBinding
metadata: {name: bench-app-env}
spec:
  policyName: bench-app-env
  paramRef: {name: web, parameterNotFoundAction: Deny}
`

// AdmissionResult is the create latencies of one setup in one round.
type AdmissionResult struct {
	Setup     string
	Round     int
	Latencies []time.Duration
	// WebhookCall is, for taskgate's webhook, the mean time kube-apiserver
	// spent calling it, from its own metric: what the webhook costs the
	// apiserver, with the client and storage taken out.
	WebhookCall time.Duration
}

// benchApp is the App the Jobs are labelled with: three env vars to inject.
func benchApp(namespace string) *taskgatev1alpha1.App {
	return &taskgatev1alpha1.App{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: "web"},
		Spec: taskgatev1alpha1.AppSpec{
			Image: "registry.example.com/shop/web:v1.42.0",
			Args:  []string{"bundle", "exec", "puma"},
			Env: []corev1.EnvVar{
				{Name: "RAILS_ENV", Value: "production"},
				{Name: "LOG_LEVEL", Value: "info"},
				{Name: "DATABASE_POOL", Value: "5"},
			},
		},
	}
}

// benchJob is a suspended Job labelled with the App: admission mutates it,
// and no pod is ever made, so the cluster's load does not drift while the
// latencies are sampled.
func benchJob(namespace, name string) *batchv1.Job {
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name, Labels: map[string]string{taskgatev1alpha1.LabelApp: "web"}},
		Spec: batchv1.JobSpec{
			Suspend: ptr.To(true),
			Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
				RestartPolicy: corev1.RestartPolicyNever,
				Containers:    []corev1.Container{{Name: "main", Image: "registry.example.com/shop/web:v1.42.0", Command: []string{"rake", "report"}}},
			}},
		},
	}
}

// Admission creates jobs Jobs, one at a time, through the real apiserver
// in each setup, rounds times, interleaving the setups so drift in the
// machine's load falls on all three alike.
func (e *Env) Admission(ctx context.Context, rounds, jobs int) ([]AdmissionResult, error) {
	hook, err := e.jobWebhookConfiguration(ctx)
	if err != nil {
		return nil, err
	}
	var results []AdmissionResult
	for round := 1; round <= rounds; round++ {
		for _, setup := range []string{SetupNone, SetupHook, SetupPolicy} {
			res, err := e.admissionSet(ctx, setup, hook, round, jobs)
			if err != nil {
				return results, fmt.Errorf("%s, round %d: %w", setup, round, err)
			}
			e.Logf("admission: %s, round %d: p50 %v p99 %v", setup, round, Percentile(res.Latencies, 50), Percentile(res.Latencies, 99))
			results = append(results, res)
		}
	}
	// Leave the cluster as Setup made it.
	if err := e.switchAdmission(ctx, SetupHook, hook); err != nil {
		return results, err
	}
	return results, nil
}

func (e *Env) admissionSet(ctx context.Context, setup string, hook *admissionregistrationv1.MutatingWebhookConfiguration, round, jobs int) (AdmissionResult, error) {
	ns := fmt.Sprintf("bench-admission-%d-%d", round, map[string]int{SetupNone: 0, SetupHook: 1, SetupPolicy: 2}[setup])
	if err := e.createNamespace(ctx, ns, nil); err != nil {
		return AdmissionResult{}, err
	}
	if err := e.Client.Create(ctx, benchApp(ns)); err != nil {
		return AdmissionResult{}, fmt.Errorf("creating the App: %w", err)
	}
	if err := e.switchAdmission(ctx, setup, hook); err != nil {
		return AdmissionResult{}, err
	}
	if err := e.waitForMutation(ctx, ns, setup != SetupNone); err != nil {
		return AdmissionResult{}, err
	}
	const warmup = 50
	res := AdmissionResult{Setup: setup, Round: round, Latencies: make([]time.Duration, 0, jobs)}
	var sum0, count0 float64
	var profiled chan error
	for i := range warmup + jobs {
		if i == warmup && setup == SetupHook {
			var err error
			if sum0, count0, err = e.webhookCallSeconds(ctx); err != nil {
				return res, err
			}
			if round == 1 {
				// A CPU profile of the manager while it serves the
				// creates shows where its share of the latency goes.
				profiled = make(chan error, 1)
				go func() { profiled <- e.profileManager(ctx, 10*time.Second, "manager-webhook-cpu") }()
			}
		}
		job := benchJob(ns, fmt.Sprintf("job-%05d", i))
		start := time.Now()
		if err := e.Client.Create(ctx, job); err != nil {
			return res, fmt.Errorf("creating Job %d: %w", i, err)
		}
		if i >= warmup {
			res.Latencies = append(res.Latencies, time.Since(start))
		}
	}
	if setup == SetupHook {
		sum1, count1, err := e.webhookCallSeconds(ctx)
		if err != nil {
			return res, err
		}
		if count1 > count0 {
			res.WebhookCall = time.Duration((sum1 - sum0) / (count1 - count0) * float64(time.Second))
		}
	}
	if profiled != nil {
		if err := <-profiled; err != nil {
			return res, err
		}
	}
	return res, e.deleteNamespace(ctx, ns)
}

// webhookCallSeconds reads kube-apiserver's histogram of its calls to
// taskgate's Job webhook: the sum of their durations and their count.
func (e *Env) webhookCallSeconds(ctx context.Context) (sum, count float64, err error) {
	families, err := e.apiserverMetrics(ctx)
	if err != nil {
		return 0, 0, err
	}
	for _, m := range families["apiserver_admission_webhook_admission_duration_seconds"].GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == "name" && l.GetValue() == "jobs.taskgate.dev" {
				sum += m.GetHistogram().GetSampleSum()
				count += float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return sum, count, nil
}

// apiserverMetrics scrapes kube-apiserver's metrics.
func (e *Env) apiserverMetrics(ctx context.Context) (map[string]*dto.MetricFamily, error) {
	body, err := e.apiserverGet(ctx, "/metrics", nil, 0)
	if err != nil {
		return nil, fmt.Errorf("scraping kube-apiserver: %w", err)
	}
	defer body.Close()
	families, err := localcluster.ParseMetrics(body)
	if err != nil {
		return nil, fmt.Errorf("kube-apiserver's metrics: %w", err)
	}
	return families, nil
}

// apiserverWrites counts the writes kube-apiserver has served, by verb and
// resource: "PATCH tasks/status". Every client's writes count, Tekton's
// and kube-controller-manager's too.
func (e *Env) apiserverWrites(ctx context.Context) (map[string]float64, error) {
	families, err := e.apiserverMetrics(ctx)
	if err != nil {
		return nil, err
	}
	writes := map[string]float64{}
	for _, m := range families["apiserver_request_total"].GetMetric() {
		l := map[string]string{}
		for _, p := range m.GetLabel() {
			l[p.GetName()] = p.GetValue()
		}
		switch l["verb"] {
		case "GET", "LIST", "WATCH", "CONNECT":
			continue
		}
		resource := l["resource"]
		if l["subresource"] != "" {
			resource += "/" + l["subresource"]
		}
		writes[l["verb"]+" "+resource] += m.GetCounter().GetValue()
	}
	return writes, nil
}

// switchAdmission leaves exactly one Job mutator in place: none, taskgate's
// webhook or the MutatingAdmissionPolicy.
func (e *Env) switchAdmission(ctx context.Context, setup string, hook *admissionregistrationv1.MutatingWebhookConfiguration) error {
	var map_ admissionregistrationv1.MutatingAdmissionPolicy
	var binding admissionregistrationv1.MutatingAdmissionPolicyBinding
	if err := yaml.UnmarshalStrict([]byte(mutatingPolicy), &map_); err != nil {
		return fmt.Errorf("decoding the MutatingAdmissionPolicy: %w", err)
	}
	if err := yaml.UnmarshalStrict([]byte(mutatingPolicyBinding), &binding); err != nil {
		return fmt.Errorf("decoding its binding: %w", err)
	}
	objects := []struct {
		obj  client.Object
		want bool
	}{
		{hook.DeepCopy(), setup == SetupHook},
		{&map_, setup == SetupPolicy},
		{&binding, setup == SetupPolicy},
	}
	for _, o := range objects {
		var err error
		if o.want {
			err = client.IgnoreAlreadyExists(e.Client.Create(ctx, o.obj))
		} else {
			err = client.IgnoreNotFound(e.Client.Delete(ctx, o.obj))
		}
		if err != nil {
			return fmt.Errorf("switching admission to %s: %w", setup, err)
		}
	}
	return nil
}

// jobWebhookConfiguration returns a copy of the MutatingWebhookConfiguration
// that holds taskgate's Job webhook, ready to be created again.
func (e *Env) jobWebhookConfiguration(ctx context.Context) (*admissionregistrationv1.MutatingWebhookConfiguration, error) {
	var list admissionregistrationv1.MutatingWebhookConfigurationList
	if err := e.Client.List(ctx, &list); err != nil {
		return nil, fmt.Errorf("listing webhook configurations: %w", err)
	}
	for _, c := range list.Items {
		for _, w := range c.Webhooks {
			if w.Name == "jobs.taskgate.dev" {
				c := c.DeepCopy()
				c.ObjectMeta = metav1.ObjectMeta{Name: c.Name, Labels: c.Labels, Annotations: c.Annotations}
				return c, nil
			}
		}
	}
	return nil, fmt.Errorf("no MutatingWebhookConfiguration holds jobs.taskgate.dev")
}

// waitForMutation dry-runs a Job until the apiserver has picked up the
// admission change: mutated (TTL and the App's env) or untouched.
func (e *Env) waitForMutation(ctx context.Context, ns string, mutated bool) error {
	var last string
	err := poll(ctx, time.Minute, func() (bool, error) {
		job := benchJob(ns, "probe")
		if err := e.Client.Create(ctx, job, client.DryRunAll); err != nil {
			if apierrors.IsNotFound(err) || apierrors.IsInternalError(err) {
				last = err.Error()
				return false, nil // the policy's param informer is still starting
			}
			return false, fmt.Errorf("dry-running a Job: %w", err)
		}
		env := job.Spec.Template.Spec.Containers[0].Env
		got := job.Spec.TTLSecondsAfterFinished != nil && *job.Spec.TTLSecondsAfterFinished == creationTTL && len(env) == 3
		last = fmt.Sprintf("ttl %v, %d env vars", ptr.Deref(job.Spec.TTLSecondsAfterFinished, -1), len(env))
		return got == mutated && (mutated || job.Spec.TTLSecondsAfterFinished == nil && len(env) == 0), nil
	})
	if err != nil {
		return fmt.Errorf("waiting for admission to take effect (mutated=%v, last: %s): %w", mutated, last, err)
	}
	return nil
}
