package policy

import (
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// PendingExpiredMessage is the failure reason of a Task that stayed Pending
// past tasks.pendingDeadline, in Cloud Foundry's words.
const PendingExpiredMessage = "Task expired in PENDING state"

// TimeoutDecision is the timeout a Task runs with.
type TimeoutDecision struct {
	// Timeout is what the Task runs with; 0s means no limit. Callers may
	// modify it.
	Timeout *metav1.Duration
	// Rule is RuleDefault: timeouts have no named rules.
	Rule string
	// Outcome is OutcomeDefaulted when Timeout came from
	// tasks.timeout.default, else OutcomeUnchanged.
	Outcome Outcome
	// Audit: report the default, run with what was set.
	Audit bool
}

// String renders the decision in one line for an annotation or warning.
func (d TimeoutDecision) String() string {
	if d.Outcome != OutcomeDefaulted || d.Timeout == nil {
		return "timeout unchanged"
	}
	s := "set default timeout=" + formatDuration(d.Timeout.Duration) + " (tasks.timeout.default)"
	if d.Audit {
		s = "audit: would " + s
	}
	return s
}

// ResolveTaskTimeout returns set, or tasks.timeout.default when set is nil.
func (p *Policy) ResolveTaskTimeout(set *metav1.Duration) TimeoutDecision {
	d := TimeoutDecision{Rule: RuleDefault, Outcome: OutcomeUnchanged, Audit: p.Mode == ModeAudit}
	switch {
	case set != nil:
		d.Timeout = set.DeepCopy()
	case p.Tasks.Timeout.Default != nil:
		d.Timeout, d.Outcome = p.Tasks.Timeout.Default.DeepCopy(), OutcomeDefaulted
	}
	return d
}

// ValidateTaskTimeout rejects a timeout above tasks.timeout.max, counting
// 0s (no limit) as above any max. A nil timeout is valid: the default
// applies. In audit mode errors come back as warnings.
func (p *Policy) ValidateTaskTimeout(set *metav1.Duration, fldPath *field.Path) (field.ErrorList, []string) {
	if set == nil {
		return nil, nil
	}
	var fs []finding
	d, maxTimeout := set.Duration, p.Tasks.Timeout.Max
	switch {
	case d < 0:
		fs = append(fs, finding{
			err:   field.Invalid(fldPath, d.String(), "must not be negative; 0s means no limit"),
			short: fmt.Sprintf("%s=%s: negative", fldPath, d),
		})
	case maxTimeout == nil || maxTimeout.Duration <= 0:
	case d == 0 || d > maxTimeout.Duration:
		v, m := formatDuration(d), formatDuration(maxTimeout.Duration)
		detail := fmt.Sprintf("exceeds the cluster maximum of %s set in policy tasks.timeout.max; ask for at most %s", m, m)
		if d == 0 {
			detail = "0s means no limit, which " + detail
			v += " (no limit)"
		}
		fs = append(fs, finding{
			err:   field.Invalid(fldPath, formatDuration(d), detail),
			short: fmt.Sprintf("%s=%s: above the maximum %s (tasks.timeout.max)", fldPath, v, m),
		})
	}
	return p.verdict(fs)
}

// PendingDecision says whether a Pending Task has waited too long.
type PendingDecision struct {
	// Expired is true once the Task has been Pending for
	// tasks.pendingDeadline; fail it with PendingExpiredMessage.
	Expired bool
	// Remaining is how long until it expires: when to look again. Zero
	// when expired or when there is no deadline.
	Remaining time.Duration
	// Audit: report, do not fail the Task.
	Audit bool
}

// TaskPending decides whether a Task Pending since since has expired at
// now. A pendingDeadline of 0s never expires a Task.
func (p *Policy) TaskPending(since, now time.Time) PendingDecision {
	d := PendingDecision{Audit: p.Mode == ModeAudit}
	deadline := p.Tasks.PendingDeadline
	if deadline == nil || deadline.Duration <= 0 {
		return d
	}
	if waited := now.Sub(since); waited >= deadline.Duration {
		d.Expired = true
	} else {
		d.Remaining = deadline.Duration - waited
	}
	return d
}
