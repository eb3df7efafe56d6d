package policy

import (
	"fmt"

	"github.com/taskgate/taskgate/message"
)

// Outcome is what a decision does, for callers' "decisions by rule and
// outcome" metrics.
type Outcome string

const (
	// OutcomeSet writes a TTL on an object that has none, or replaces
	// one policy may replace.
	OutcomeSet Outcome = "Set"
	// OutcomeShortened lowers the object's TTL.
	OutcomeShortened Outcome = "Shortened"
	// OutcomeUnchanged leaves the object as it is: it already has what
	// policy would give, or less.
	OutcomeUnchanged Outcome = "Unchanged"
	// OutcomeExplicit leaves a TTL the object's author set (ttl.explicit:
	// Respect).
	OutcomeExplicit Outcome = "Explicit"
	// OutcomeNoRule: no rule matched, so policy has nothing to say.
	OutcomeNoRule Outcome = "NoRule"
	// OutcomeExempt: the object is exempt from TTL policy.
	OutcomeExempt Outcome = "Exempt"
	// OutcomeDefaulted fills in a Task value from policy defaults.
	OutcomeDefaulted Outcome = "Defaulted"
	// OutcomeWithinCap: an App has no more Tasks than its cap allows.
	OutcomeWithinCap Outcome = "WithinCap"
	// OutcomeOverCap: some of an App's finished Tasks are past its cap.
	OutcomeOverCap Outcome = "OverCap"
)

// Rule names a decision records when no named rule decided.
const (
	// RuleDefault: no rule or override matched; the policy default
	// (which for TTL is "nothing") applies.
	RuleDefault = "default"
	// RuleExplicit: the object's own TTL was respected.
	RuleExplicit = "explicit"
	// RuleExemptPrefix prefixes the exemption reason: exempt:operator-job.
	RuleExemptPrefix = "exempt:"
)

// Reasons a TTL decision records when it did not apply a rule.
const (
	// ReasonExplicit: the object's author set its TTL.
	ReasonExplicit = "explicit"
	// ExemptSystemNamespace: kube-system or kube-node-lease.
	ExemptSystemNamespace = "system-namespace"
	// ExemptManagerNamespace: taskgate's own namespace.
	ExemptManagerNamespace = "manager-namespace"
	// ExemptNamespace: a namespace listed in exemptions.namespaces.
	ExemptNamespace = "namespace"
	// ExemptOptOut: the object carries the opt-out label.
	ExemptOptOut = "opt-out"
	// ExemptNamespaceOptOut: the object's namespace carries the opt-out
	// label.
	ExemptNamespaceOptOut = "namespace-opt-out"
	// ExemptOperatorJob: a Job owned by something other than a CronJob
	// that no rule with includeOperatorJobs matches.
	ExemptOperatorJob = "operator-job"
)

// Bound names the policy setting that moved a rule's TTL.
type Bound string

const (
	BoundMinSeconds             Bound = "minSeconds"
	BoundMaxSeconds             Bound = "maxSeconds"
	BoundHookFloorSeconds       Bound = "hookFloorSeconds"
	BoundCompletionGraceSeconds Bound = "completionGraceSeconds"
)

// Annotations taskgate writes with a TTL decision, and the opt-out value.
const (
	// AnnotationDecision records the last decision in words, for kubectl
	// describe; in audit mode it is all that changes.
	AnnotationDecision = "taskgate.dev/policy-decision"
	// AnnotationTTLSource set to TTLSourcePolicy marks a TTL that policy
	// wrote. A TTL without it is the author's, which ttl.explicit: Respect
	// leaves alone.
	AnnotationTTLSource = "taskgate.dev/ttl-source"
	// TTLSourcePolicy is the value of AnnotationTTLSource.
	TTLSourcePolicy = "policy"
	// OptOutValue is the value of the opt-out label that exempts.
	OptOutValue = "disabled"
)

// TTLDecision is what TTL policy decides for one object.
type TTLDecision struct {
	// TTL is the ttlSecondsAfterFinished to write. Nil: write nothing.
	// In audit mode it is what would have been written.
	TTL *int32
	// Rule is the name of the rule that decided, RuleDefault when none
	// matched, RuleExplicit, or RuleExemptPrefix plus the reason.
	Rule string
	// Outcome is what the decision does.
	Outcome Outcome
	// Bound is the setting that moved the rule's TTL, if one did. With
	// OutcomeUnchanged it says what raised policy's value to or above the
	// object's current TTL.
	Bound Bound
	// Exempt is true when the object is exempt; Reason says why.
	Exempt bool
	// Reason is an Exempt* constant or ReasonExplicit; empty otherwise.
	Reason string
	// Audit is true in audit mode: report the decision, change nothing.
	Audit bool
	// Replaced is true when an OutcomeSet decision replaces a TTL the
	// object's author set (ttl.explicit: Override). Its message says so,
	// and admission warns the author; a TTL marked as policy's is not the
	// author's, and replacing it is a plain Set.
	Replaced bool
}

// WriteTTL returns the TTL to patch onto the object, and false when there
// is nothing to write (including every decision in audit mode).
func (d TTLDecision) WriteTTL() (int32, bool) {
	if d.TTL == nil || d.Audit {
		return 0, false
	}
	return *d.TTL, true
}

// PolicyOwned reports whether the object's TTL is policy's: one is decided
// now, or policy's earlier one stands. Objects policy does not own are
// never written to.
func (d TTLDecision) PolicyOwned() bool {
	return d.TTL != nil || d.Outcome == OutcomeUnchanged
}

// Annotations returns the annotations to write with the decision: nil when
// the decision changes nothing, so untouched objects stay untouched;
// otherwise AnnotationDecision, plus AnnotationTTLSource when a TTL is
// written.
func (d TTLDecision) Annotations() map[string]string {
	if d.TTL == nil {
		return nil
	}
	a := map[string]string{AnnotationDecision: d.String()}
	if !d.Audit {
		a[AnnotationTTLSource] = TTLSourcePolicy
	}
	return a
}

// String renders the decision in one line of less than 120 characters, for
// AnnotationDecision and admission warnings, for example
// "audit: would set ttlSecondsAfterFinished=3600 (rule failed-jobs-week)".
func (d TTLDecision) String() string {
	verb := func(done, would string) string {
		if d.Audit {
			return would
		}
		return done
	}
	var s string
	switch d.Outcome {
	case OutcomeSet, OutcomeShortened:
		ttl := int32(-1)
		if d.TTL != nil {
			ttl = *d.TTL
		}
		switch {
		case d.Outcome == OutcomeSet && d.Replaced:
			s = fmt.Sprintf("%s ttlSecondsAfterFinished with %d", verb("replaced", "would replace"), ttl)
		case d.Outcome == OutcomeSet:
			s = fmt.Sprintf("%s ttlSecondsAfterFinished=%d", verb("set", "would set"), ttl)
		default:
			s = fmt.Sprintf("%s ttlSecondsAfterFinished to %d", verb("shortened", "would shorten"), ttl)
		}
		s += " (rule " + d.Rule + boundPhrase(d.Bound) + ")"
	case OutcomeUnchanged:
		s = fmt.Sprintf("%s ttlSecondsAfterFinished: no longer than rule %s gives", verb("kept", "would keep"), d.Rule)
	case OutcomeExplicit:
		s = verb("kept", "would keep") + " explicit ttlSecondsAfterFinished (ttl.explicit: Respect)"
	case OutcomeNoRule:
		s = "no TTL rule matched"
	case OutcomeExempt:
		s = "exempt (" + d.Reason + ")"
	default:
		s = string(d.Outcome)
	}
	if d.Audit {
		s = "audit: " + s
	}
	return message.Warning(s)
}

func boundPhrase(b Bound) string {
	switch b {
	case "":
		return ""
	case BoundMaxSeconds:
		return ", lowered to ttl.maxSeconds"
	case BoundCompletionGraceSeconds:
		return ", raised by ttl.completionGraceSeconds"
	}
	return ", raised to ttl." + string(b)
}
