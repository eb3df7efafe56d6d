package bench

import (
	"context"
	"errors"
	"fmt"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	taskgatev1alpha1 "github.com/taskgate/taskgate/api/v1alpha1"
)

// Setup names for the admission figure.
const (
	SetupNone   = "no webhook"
	SetupFixed  = "fixed-patch webhook"
	SetupHook   = "taskgate webhook"
	SetupPolicy = "MutatingAdmissionPolicy"
	// SetupTaskgatePolicy is taskgate's generated admission policies
	// (package jobadmission), which set the creation TTL inside
	// kube-apiserver from the JobTTLParams compiled from benchPolicy.
	SetupTaskgatePolicy = "taskgate policy"
)

// jobWebhook is the name of taskgate's Job webhook in the chart's
// MutatingWebhookConfiguration.
const jobWebhook = "jobs.taskgate.dev"

// creationTTL is what benchPolicy gives a new Job: the longest completion
// TTL, so no outcome is cut short before it is known.
const creationTTL = 604800

// mutatingPolicy is the same mutation as taskgate's Job webhook under
// benchPolicy, written as an in-tree MutatingAdmissionPolicy: the creation
// TTL, and the env of the App named like the Job's label. CEL cannot pick
// the param by the label's value, so the binding names the App; the
// namespace is the Job's, as taskgate's lookup is. Unlike taskgate, an
// apply configuration overrides env the Job already sets. It picks the
// labelled Jobs with a label selector, as the chart's webhook configuration
// skips opted-out ones: a CEL matchCondition would cost kube-apiserver a
// conversion of each Job.
const mutatingPolicy = `apiVersion: admissionregistration.k8s.io/v1
kind: MutatingAdmissionPolicy
metadata: {name: bench-app-env}
spec:
  paramKind: {apiVersion: taskgate.dev/v1alpha1, kind: App}
  matchConstraints:
    resourceRules:
    - {apiGroups: [batch], apiVersions: [v1], operations: [CREATE], resources: [jobs]}
    objectSelector:
      matchExpressions: [{key: taskgate.dev/app, operator: Exists}]
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

// setupLabel marks each of a round's namespaces with the setup its Jobs are
// admitted by: the fixed-patch webhook, taskgate's Job webhook and the
// MutatingAdmissionPolicy are all in place for the whole figure, each scoped
// to its own namespaces.
const setupLabel = "bench.taskgate.dev/admission-setup"

// setupLabel's values for the fixed-patch webhook, taskgate's webhook, the
// hand-written policy and taskgate's generated policies.
const (
	keyFixed          = "fixed-patch"
	keyHook           = "webhook"
	keyPolicy         = "policy"
	keyTaskgatePolicy = "taskgate-policy"
)

// setups are the admission setups, keyed as setupLabel's values.
var setups = []struct{ name, key string }{
	{SetupNone, "none"}, {SetupFixed, keyFixed}, {SetupHook, keyHook}, {SetupPolicy, keyPolicy},
	{SetupTaskgatePolicy, keyTaskgatePolicy},
}

// Admission creates jobs Jobs per setup, one at a time, through the real
// apiserver, rounds times. The setups take turns request by request, each
// leading in turn, so drift in the machine's load, within a round as
// across rounds, falls on all of them alike. Last, it stops the manager
// and counts the Jobs that still get their TTL (ManagerStopped), and
// starts it again.
func (e *Env) Admission(ctx context.Context, rounds, jobs int) (results []AdmissionResult, stopped *ManagerStoppedResult, err error) {
	hook, err := e.jobWebhookConfiguration(ctx)
	if err != nil {
		return nil, nil, err
	}
	defer func() {
		// Leave the cluster as Setup made it, however far scoping got.
		if rerr := e.unscopeAdmission(ctx, hook); err == nil {
			err = rerr
		}
	}()
	if err := e.scopeAdmission(ctx, hook); err != nil {
		return nil, nil, err
	}
	fixed, err := e.startFixedPatchWebhook(ctx, hook)
	if err != nil {
		return nil, nil, err
	}
	defer fixed.Stop(stopGrace)
	for round := 1; round <= rounds; round++ {
		res, err := e.admissionRound(ctx, round, jobs)
		if err != nil {
			return results, nil, fmt.Errorf("round %d: %w", round, err)
		}
		for _, r := range res {
			e.Logf("admission: %s, round %d: p50 %v p99 %v, webhook call %v", r.Setup, round, Percentile(r.Latencies, 50), Percentile(r.Latencies, 99), r.WebhookCall)
		}
		results = append(results, res...)
	}
	if stopped, err = e.ManagerStopped(ctx, managerStoppedJobs); err != nil {
		return results, nil, fmt.Errorf("with the manager stopped: %w", err)
	}
	e.Logf("admission: manager stopped: %d of %d Jobs got the TTL through taskgate's policy, %d through its webhook", stopped.PolicyTTL, stopped.Jobs, stopped.WebhookTTL)
	return results, stopped, nil
}

// admissionRound measures one round of every setup, each in a namespace of
// its own, deleted afterwards.
func (e *Env) admissionRound(ctx context.Context, round, jobs int) ([]AdmissionResult, error) {
	namespaces := make([]string, len(setups))
	for i, s := range setups {
		namespaces[i] = fmt.Sprintf("bench-admission-%d-%s", round, s.key)
		if err := e.createNamespace(ctx, namespaces[i], map[string]string{setupLabel: s.key}); err != nil {
			return nil, err
		}
		if err := e.createApp(ctx, namespaces[i]); err != nil {
			return nil, err
		}
	}
	for i, s := range setups {
		if err := e.waitForAdmission(ctx, namespaces[i], s.name); err != nil {
			return nil, fmt.Errorf("%s: %w", s.name, err)
		}
	}
	results := make([]AdmissionResult, len(setups))
	for i, s := range setups {
		results[i] = AdmissionResult{Setup: s.name, Round: round, Latencies: make([]time.Duration, 0, jobs)}
	}
	const warmup = 50
	// withTTL counts each setup's Jobs admitted with the creation TTL.
	withTTL := make([]int, len(setups))
	var calls0 map[string]webhookCalls
	var profiled chan error
	for n := range warmup + jobs {
		if n == warmup {
			var err error
			if calls0, err = e.webhookCalls(ctx); err != nil {
				return nil, err
			}
			if round == 1 {
				// CPU profiles of the manager and of kube-apiserver
				// while they serve the creates show where each one's
				// share of the latency goes.
				profiled = make(chan error, 2)
				go func() { profiled <- e.profileManager(ctx, 10*time.Second, "manager-webhook-cpu") }()
				go func() { profiled <- e.profileAPIServer(ctx, 10*time.Second, "apiserver-admission-cpu") }()
			}
		}
		for k := range setups {
			i := (n + k) % len(setups)
			job := benchJob(namespaces[i], fmt.Sprintf("job-%05d", n))
			start := time.Now()
			if err := e.Client.Create(ctx, job); err != nil {
				return nil, fmt.Errorf("%s: creating Job %d: %w", setups[i].name, n, err)
			}
			if n >= warmup {
				results[i].Latencies = append(results[i].Latencies, time.Since(start))
			}
			if hasCreationTTL(job) {
				withTTL[i]++
			}
		}
	}
	for i, s := range setups {
		if err := admittedAs(s.name, withTTL[i], warmup+jobs); err != nil {
			return nil, fmt.Errorf("%s: %w", s.name, err)
		}
	}
	calls1, err := e.webhookCalls(ctx)
	if err != nil {
		return nil, err
	}
	for i := range results {
		name, ok := setupWebhooks[results[i].Setup]
		if !ok {
			continue
		}
		c0, c1 := calls0[name], calls1[name]
		if err := callsMade(c0, c1, jobs); err != nil {
			return nil, fmt.Errorf("%s: %s: %w", results[i].Setup, name, err)
		}
		results[i].WebhookCall = time.Duration((c1.seconds - c0.seconds) / (c1.count - c0.count) * float64(time.Second))
	}
	if profiled != nil {
		if err := errors.Join(<-profiled, <-profiled); err != nil {
			return nil, err
		}
	}
	for _, ns := range namespaces {
		if err := e.deleteNamespace(ctx, ns); err != nil {
			return nil, err
		}
	}
	return results, nil
}

// createApp creates benchApp in ns. The manager's App webhook looks the
// namespace up in its cache, which may not have seen a namespace just
// created: the webhook then refuses the App as in no namespace, and it is
// created again once the cache has it.
func (e *Env) createApp(ctx context.Context, ns string) error {
	var last error
	err := poll(ctx, 30*time.Second, func() (bool, error) {
		last = e.Client.Create(ctx, benchApp(ns))
		return last == nil, client.IgnoreNotFound(last)
	})
	if err != nil {
		return fmt.Errorf("creating the App in %s (last: %v): %w", ns, last, err)
	}
	return nil
}

// waitForAdmission dry-runs a Job until kube-apiserver admits it as setup
// does: mutated (TTL and the App's env) by either webhook and the policy,
// given the TTL alone by taskgate's policy, or untouched.
func (e *Env) waitForAdmission(ctx context.Context, ns, setup string) error {
	wantTTL := setup != SetupNone
	wantEnv := wantTTL && setup != SetupTaskgatePolicy
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
		last = fmt.Sprintf("ttl %v, %d env vars", ptr.Deref(job.Spec.TTLSecondsAfterFinished, -1), len(env))
		ttlOK := hasCreationTTL(job) == wantTTL && (wantTTL || job.Spec.TTLSecondsAfterFinished == nil)
		envOK := wantEnv && len(env) == 3 || !wantEnv && len(env) == 0
		return ttlOK && envOK, nil
	})
	if err != nil {
		return fmt.Errorf("waiting for admission to take effect (TTL %v, env %v, last: %s): %w", wantTTL, wantEnv, last, err)
	}
	return nil
}

// hasCreationTTL says whether job was admitted with the creation TTL
// every setup but none gives it.
func hasCreationTTL(job *batchv1.Job) bool {
	return ptr.Deref(job.Spec.TTLSecondsAfterFinished, -1) == creationTTL
}

// admittedAs checks that of created Jobs, the setup gave withTTL the
// creation TTL as it should: all of them, or none with no admission. A
// setup that fails open, as taskgate's policy and webhooks do, would
// otherwise let its Jobs through untouched, faster than any mutation, and
// the figure would read that as its cost.
func admittedAs(setup string, withTTL, created int) error {
	if setup == SetupNone {
		if withTTL > 0 {
			return fmt.Errorf("%d of %d Jobs got a TTL with no admission in place", withTTL, created)
		}
		return nil
	}
	if withTTL < created {
		return fmt.Errorf("%d of %d Jobs were admitted without the creation TTL", created-withTTL, created)
	}
	return nil
}
