package webhook

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"gomodules.xyz/jsonpatch/v2"
	batchv1 "k8s.io/api/batch/v1"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/taskgate/taskgate/api/v1alpha1"
	"github.com/taskgate/taskgate/facts"
	"github.com/taskgate/taskgate/inherit"
	"github.com/taskgate/taskgate/patch"
	"github.com/taskgate/taskgate/policy"
)

// JobDefaulter sets ttlSecondsAfterFinished on new batch/v1 Jobs by cluster
// policy, and gives Jobs labelled taskgate.dev/app=<name> (a CronJob's
// included) that App's configuration. Jobs are not ours, so it answers with explicit JSON-patch
// operations for the fields it owns and never re-marshals the Job: a
// whole-object round trip would write zero values the Job's author never
// set.
type JobDefaulter struct {
	Policy     facts.PolicySource
	Namespaces facts.NamespaceLabels
	Apps       AppGetter
	// Decided, when set, is told every decision, for metrics.
	Decided facts.Decided
	// TTLByAdmissionPolicies is true when kube-apiserver's admission
	// policies give Jobs their creation TTL (the chart's jobAdmission:
	// policy): the webhook then only injects Apps' configuration, and
	// neither decides a TTL again nor counts one.
	TTLByAdmissionPolicies bool
}

// Handle answers one AdmissionReview for a Job.
func (h *JobDefaulter) Handle(ctx context.Context, req admission.Request) admission.Response {
	if resp, done := notCreateOf(req, jobKind); done {
		return resp
	}
	job := &batchv1.Job{}
	if err := json.Unmarshal(req.Object.Raw, job); err != nil {
		return admission.Errored(http.StatusBadRequest, err)
	}
	if job.Namespace == "" {
		job.Namespace = req.Namespace
	}
	var patches []jsonpatch.JsonPatchOperation
	var warnings []string
	if !h.TTLByAdmissionPolicies {
		var err error
		if patches, warnings, err = h.creationTTL(ctx, job); err != nil {
			// The Job webhook fails open; the reconciler applies the TTL
			// once the Job finishes.
			return admission.Allowed("").WithWarnings("taskgate: TTL policy not applied at creation: " + err.Error())
		}
	}
	if name, ok := job.Labels[v1alpha1.LabelApp]; ok {
		app, err := h.Apps(ctx, job.Namespace, name)
		switch {
		case err != nil:
			warnings = append(warnings, "taskgate: App configuration not injected: "+err.Error())
		case app == nil:
			// Admitted anyway: a CronJob must never break because its
			// App was renamed or not created yet.
			warnings = append(warnings, fmt.Sprintf("taskgate: App %s not found in namespace %s; the Job runs without its configuration", name, job.Namespace))
		default:
			patches = append(patches, inherit.JobInjection(app, &job.Spec.Template, "/spec/template")...)
		}
	}
	if len(patches) == 0 {
		return admission.Allowed("").WithWarnings(warnings...)
	}
	return admission.Patched("", patches...).WithWarnings(warnings...)
}

// creationTTL decides job's creation TTL by policy: the patch that writes
// it (and drops a stale completion-decided label), and the warning the
// author gets in audit mode or when their own TTL is replaced.
func (h *JobDefaulter) creationTTL(ctx context.Context, job *batchv1.Job) ([]jsonpatch.JsonPatchOperation, []string, error) {
	nsLabels, err := h.Namespaces(ctx, job.Namespace)
	if err != nil {
		return nil, nil, err
	}
	d := h.Policy.Current().CreationTTL(facts.Object(policy.KindJob, &job.ObjectMeta, nsLabels, job.Spec.TTLSecondsAfterFinished))
	h.Decided.Report(policy.KindJob, d.Rule, d.Outcome)
	var warnings []string
	if d.Audit && d.TTL != nil || d.Replaced {
		warnings = []string{"taskgate: " + d.String()}
	}
	return append(patch.JobTTL(job, d), patch.JobUndecided(job)...), warnings, nil
}
