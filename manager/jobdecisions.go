package manager

import (
	"context"
	"fmt"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"

	"github.com/taskgate/taskgate/facts"
	"github.com/taskgate/taskgate/jobadmission"
	"github.com/taskgate/taskgate/policy"
)

// jobDecisionCounter counts, for taskgate_policy_decisions_total, the
// creation decisions kube-apiserver's admission policies made, as the Job
// webhook counts its own: for each Job created since the leader started,
// seen in the Job cache it already keeps, the decision read back from the
// Job (jobadmission.Decided). One replica counts, so each Job once.
type jobDecisionCounter struct {
	cache      cache.Cache
	policy     facts.PolicySource
	namespaces facts.NamespaceLabels
	decided    facts.Decided
}

// NeedLeaderElection is true: the leader alone counts.
func (c *jobDecisionCounter) NeedLeaderElection() bool { return true }

// Start counts until ctx ends.
func (c *jobDecisionCounter) Start(ctx context.Context) error {
	// Jobs older than this are the cache's initial list, decided before.
	since := time.Now().Add(-time.Second)
	inf, err := c.cache.GetInformer(ctx, &batchv1.Job{})
	if err != nil {
		return fmt.Errorf("watching Jobs for the decision metrics: %w", err)
	}
	reg, err := inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{AddFunc: func(obj any) {
		if job, ok := obj.(*batchv1.Job); ok && !job.CreationTimestamp.Time.Before(since) {
			c.count(ctx, job)
		}
	}})
	if err != nil {
		return fmt.Errorf("watching Jobs for the decision metrics: %w", err)
	}
	<-ctx.Done()
	return inf.RemoveEventHandler(reg)
}

func (c *jobDecisionCounter) count(ctx context.Context, job *batchv1.Job) {
	nsLabels, err := c.namespaces(ctx, job.Namespace)
	if err != nil {
		return // a namespace gone with its Job: nothing to count
	}
	d := jobadmission.Decided(c.policy.Current(), facts.Object(policy.KindJob, &job.ObjectMeta, nsLabels, job.Spec.TTLSecondsAfterFinished))
	switch d.Reason {
	case policy.ExemptSystemNamespace, policy.ExemptManagerNamespace, policy.ExemptOptOut:
		// The bindings' selectors keep these from the policies, as the
		// webhook's keep them from the webhook, which never counts them.
		return
	}
	c.decided.Report(policy.KindJob, d.Rule, d.Outcome)
}
