package jobadmission

import "github.com/taskgate/taskgate/policy"

// Decided is the decision the admission policies made of a Job, read back
// from the Job as they admitted it, for the decision metrics the Job
// webhook counts as it decides. Deciding again from the admitted Job gives
// the same rule: a TTL the policies set reads as Unchanged, and counts as
// Set; every other outcome leaves the Job as it was, and decides the same.
// A Job created with a policy TTL that needed no change counts as Set too:
// the Job does not tell the two apart.
func Decided(p *policy.Policy, f policy.ObjectFacts) policy.TTLDecision {
	d := p.CreationTTL(f)
	if d.Outcome == policy.OutcomeUnchanged && f.Annotations[policy.AnnotationTTLSource] == policy.TTLSourcePolicy {
		d.Outcome, d.TTL = policy.OutcomeSet, f.TTL
	}
	return d
}
