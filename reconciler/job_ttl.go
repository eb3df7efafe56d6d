package reconciler

import (
	"context"
	"fmt"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/recorder"

	"github.com/taskgate/taskgate/api/v1alpha1"
	"github.com/taskgate/taskgate/facts"
	"github.com/taskgate/taskgate/patch"
	"github.com/taskgate/taskgate/policy"
)

// JobTTLReconciler applies completion-time TTL rules to batch/v1 Jobs: when
// a Job finishes it picks the TTL for that outcome and those labels and
// patches spec.ttlSecondsAfterFinished, which the in-tree
// TTL-after-finished controller then honours. It must be a controller: a
// mutating webhook's spec change during a jobs/status update is silently
// dropped by the API server (kubernetes#103182).
type JobTTLReconciler struct {
	Client   client.Client
	Policy   facts.PolicySource
	Recorder recorder.EventRecorder
	Clock    clock.PassiveClock
	// Namespaces returns a namespace's labels, for namespaceSelector rules.
	Namespaces facts.NamespaceLabels
	// Decided, when set, is told every decision, for metrics.
	Decided facts.Decided
	// Workers is how many Jobs are reconciled at once.
	Workers int
}

// Jobs: watched (undecided ones only) and read; patched with the
// completion TTL and the decided label, one JSON patch of those fields
// (patch.JobCompletion). Never created, updated or deleted: the Kubernetes
// TTL-after-finished controller deletes them.
// +kubebuilder:rbac:groups=batch,resources=jobs,verbs=get;list;watch;patch

// Reconcile applies the completion-time TTL of one finished Job.
func (r *JobTTLReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	job := &batchv1.Job{}
	if err := r.Client.Get(ctx, req.NamespacedName, job); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	result, finishedAt, ok := jobFinished(job)
	if !ok || !job.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, r.reportAdmission(ctx, job)
	}
	nsLabels, err := r.Namespaces(ctx, job.Namespace)
	if err != nil {
		return ctrl.Result{}, err
	}
	f := facts.Object(policy.KindJob, &job.ObjectMeta, nsLabels, job.Spec.TTLSecondsAfterFinished)
	d := r.Policy.Current().CompletionTTL(f, policy.Completion{Result: result, FinishedAt: finishedAt, Now: r.Clock.Now()})
	r.Decided.Report(policy.KindJob, d.Rule, d.Outcome)
	if !d.PolicyOwned() {
		// A Job exempt, with its author's own TTL, or no rule applies
		// to is left as its author made it, and stays watched.
		return ctrl.Result{}, nil
	}
	// Written even when admission already set this TTL: the label takes
	// the Job out of the watch.
	changed := job.Annotations[policy.AnnotationDecision] != d.String()
	if err := r.Client.Patch(ctx, job, client.RawPatch(types.JSONPatchType, patch.JobCompletion(job, d))); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(fmt.Errorf("applying completion TTL: %w", err))
	}
	if d.Audit && changed {
		r.Recorder.Eventf(job, nil, corev1.EventTypeNormal, "AuditTTL", "TTL", "%s", d.String())
	}
	ctrl.LoggerFrom(ctx).V(1).Info("Decided completion TTL", "Job", klog.KObj(job), "decision", d.String(), "changed", changed)
	return ctrl.Result{}, nil
}

// reportAdmission records as Events what admission could only warn about,
// since a webhook has no side effects and the Job did not exist yet: an
// audit-mode decision, and an App label naming no App.
func (r *JobTTLReconciler) reportAdmission(ctx context.Context, job *batchv1.Job) error {
	if d := job.Annotations[policy.AnnotationDecision]; strings.HasPrefix(d, "audit:") {
		r.Recorder.Eventf(job, nil, corev1.EventTypeNormal, "AuditTTL", "Admit", "%s", d)
	}
	name, ok := job.Labels[v1alpha1.LabelApp]
	if !ok {
		return nil
	}
	err := r.Client.Get(ctx, types.NamespacedName{Namespace: job.Namespace, Name: name}, &v1alpha1.App{})
	if apierrors.IsNotFound(err) {
		r.Recorder.Eventf(job, nil, corev1.EventTypeWarning, "AppNotFound", "Admit",
			"App %s not found in namespace %s; the Job runs without its configuration", name, job.Namespace)
		return nil
	}
	return client.IgnoreNotFound(err)
}

// jobFinished reports how a Job ended and when its TTL clock started: the
// lastTransitionTime of Complete or Failed, as the TTL-after-finished
// controller counts. SuccessCriteriaMet and FailureTarget come first (since
// 1.31) and decide the outcome; the clock waits for the terminal condition.
func jobFinished(job *batchv1.Job) (policy.Result, time.Time, bool) {
	for _, c := range job.Status.Conditions {
		if c.Status != corev1.ConditionTrue {
			continue
		}
		switch c.Type {
		case batchv1.JobComplete:
			return policy.ResultSucceeded, c.LastTransitionTime.Time, true
		case batchv1.JobFailed:
			return policy.ResultFailed, c.LastTransitionTime.Time, true
		}
	}
	return "", time.Time{}, false
}

// SetupWithManager watches Jobs as they finish, and new Jobs admission
// had something to report about.
func (r *JobTTLReconciler) SetupWithManager(mgr ctrl.Manager) error {
	finished := predicate.NewPredicateFuncs(func(o client.Object) bool {
		_, _, ok := jobFinished(o.(*batchv1.Job))
		return ok
	})
	reported := predicate.Funcs{
		CreateFunc: func(e event.CreateEvent) bool {
			_, labelled := e.Object.GetLabels()[v1alpha1.LabelApp]
			return labelled || strings.HasPrefix(e.Object.GetAnnotations()[policy.AnnotationDecision], "audit:")
		},
		UpdateFunc:  func(event.UpdateEvent) bool { return false },
		DeleteFunc:  func(event.DeleteEvent) bool { return false },
		GenericFunc: func(event.GenericEvent) bool { return false },
	}
	// A Job leaving the watch, once decided, reaches the informer as a
	// delete; so does a Job deleted. Neither leaves anything to do.
	noDeletes := predicate.Funcs{DeleteFunc: func(event.DeleteEvent) bool { return false }}
	return ctrl.NewControllerManagedBy(mgr).
		Named("jobttl").
		For(&batchv1.Job{}, builder.WithPredicates(predicate.Or[client.Object](finished, reported), noDeletes)).
		WithOptions(controller.Options{MaxConcurrentReconciles: max(r.Workers, 1)}).
		Complete(r)
}
