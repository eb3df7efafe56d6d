package policy

import (
	"math"
	"slices"
	"time"
)

// ObjectFacts are what TTL policy knows about a Job or Task. Callers gather
// them; nothing here reads the cluster.
type ObjectFacts struct {
	Kind            ObjectKind
	Namespace       string
	NamespaceLabels map[string]string
	Labels          map[string]string
	Annotations     map[string]string
	// OwnerKind is the kind of the object's controller ownerReference, ""
	// when it has none.
	OwnerKind string
	// TTL is the object's ttlSecondsAfterFinished now; nil when unset.
	// Whether its author or policy set it is read from
	// AnnotationTTLSource.
	TTL *int32
}

// Result is how a finished object ended.
type Result string

const (
	ResultSucceeded Result = "Succeeded"
	// ResultFailed includes a cancelled Task.
	ResultFailed Result = "Failed"
)

// Completion describes a finished object to CompletionTTL.
type Completion struct {
	Result Result
	// FinishedAt is when the TTL clock started: the lastTransitionTime of
	// the Complete or Failed condition, as the TTL-after-finished
	// controller counts. A zero FinishedAt counts as long ago, so the
	// grace floor keeps the object for at least completionGraceSeconds.
	FinishedAt time.Time
	// Now is the time of the decision.
	Now time.Time
}

// hookAnnotations mark a Job as a hook its deploy tool waits on: Helm's
// and Argo CD's.
var hookAnnotations = []string{"helm.sh/hook", "argocd.argoproj.io/hook"}

// HookAnnotations are the annotation keys that mark a Job as a deploy
// tool's hook, whichever their value.
func HookAnnotations() []string { return slices.Clone(hookAnnotations) }

// CreationTTL decides the TTL to write when an object is created, at
// admission. It is the largest TTL any phase could want — the first
// matching Created rule, and the TTLs CompletionTTL would give on success
// and on failure — because the reconciler only ever shortens: raising a TTL
// after it has expired does not reliably keep the object. With no Created
// rule the object still gets its completion TTL now, so it is cleaned up
// even if the reconciler never runs.
func (p *Policy) CreationTTL(f ObjectFacts) TTLDecision {
	if d, done := p.preamble(f); done {
		return d
	}
	var best *TTLRule
	// Ties go to the earlier candidate, so a Created rule names itself.
	for _, r := range []*TTLRule{
		p.firstMatch(f, WhenCreated),
		p.completionRule(f, ResultSucceeded),
		p.completionRule(f, ResultFailed),
	} {
		if r != nil && (best == nil || *r.TTLSecondsAfterFinished > *best.TTLSecondsAfterFinished) {
			best = r
		}
	}
	if best == nil {
		return p.decision(TTLDecision{Rule: RuleDefault, Outcome: OutcomeNoRule})
	}
	ttl, bound := p.bounded(*best.TTLSecondsAfterFinished, f)
	d := TTLDecision{Rule: best.Name, Bound: bound}
	if f.TTL != nil && *f.TTL == ttl {
		d.Outcome = OutcomeUnchanged
	} else {
		d.Outcome, d.TTL, d.Replaced = OutcomeSet, &ttl, f.TTL != nil && f.Annotations[AnnotationTTLSource] != TTLSourcePolicy
	}
	return p.decision(d)
}

// CompletionTTL decides the TTL of an object that has finished: the first
// matching rule for its result (Succeeded or Failed, or Finished), else the
// first matching Created rule, bounded like CreationTTL. Two guards then
// apply:
//
//   - grace floor: the TTL is raised so the object lives at least
//     completionGraceSeconds from c.Now, so a reconciler catching up on a
//     backlog does not delete it at once;
//   - shorten only: a TTL the object already has is never raised, not even
//     by the grace floor. An existing TTL shorter than the floor was not
//     set now, and raising it might come after it expired.
func (p *Policy) CompletionTTL(f ObjectFacts, c Completion) TTLDecision {
	if d, done := p.preamble(f); done {
		return d
	}
	r := p.completionRule(f, c.Result)
	if r == nil {
		return p.decision(TTLDecision{Rule: RuleDefault, Outcome: OutcomeNoRule})
	}
	ttl, bound := p.bounded(*r.TTLSecondsAfterFinished, f)
	// Only a late decision, one whose TTL has already run out, is raised:
	// a backlog (after an outage, or on install) then goes
	// completionGraceSeconds from now instead of all at once, while an
	// on-time decision keeps the rule's TTL exactly.
	if late := c.Now.Sub(c.FinishedAt) > time.Duration(ttl)*time.Second; late {
		ttl, bound = graceFloor(c, deref(p.TTL.CompletionGraceSeconds)), BoundCompletionGraceSeconds
	}
	d := TTLDecision{Rule: r.Name, Bound: bound}
	switch {
	case f.TTL == nil:
		d.Outcome, d.TTL = OutcomeSet, &ttl
	case ttl < *f.TTL:
		d.Outcome, d.TTL = OutcomeShortened, &ttl
	default:
		d.Outcome = OutcomeUnchanged
	}
	return p.decision(d)
}

// preamble decides the objects no rule may touch: the exempt, and those
// whose author set a TTL that policy respects.
func (p *Policy) preamble(f ObjectFacts) (TTLDecision, bool) {
	if reason := p.Exemption(f); reason != "" {
		return p.decision(TTLDecision{
			Rule: RuleExemptPrefix + reason, Outcome: OutcomeExempt, Exempt: true, Reason: reason,
		}), true
	}
	if f.TTL != nil && f.Annotations[AnnotationTTLSource] != TTLSourcePolicy && p.TTL.Explicit != ExplicitOverride {
		return p.decision(TTLDecision{Rule: RuleExplicit, Outcome: OutcomeExplicit, Reason: ReasonExplicit}), true
	}
	return TTLDecision{}, false
}

func (p *Policy) decision(d TTLDecision) TTLDecision {
	d.Audit = p.Mode == ModeAudit
	return d
}

// completionRule is the rule that gives f its TTL once it has finished with
// result: the first match for the result or Finished, else for Created.
func (p *Policy) completionRule(f ObjectFacts, result Result) *TTLRule {
	if r := p.firstMatch(f, When(result), WhenFinished); r != nil {
		return r
	}
	return p.firstMatch(f, WhenCreated)
}

// firstMatch returns the first applicable rule, in document order, whose
// when is one of whens.
func (p *Policy) firstMatch(f ObjectFacts, whens ...When) *TTLRule {
	for i := range p.TTL.Rules {
		r := &p.TTL.Rules[i]
		if slices.Contains(whens, r.When) && p.applies(r, f) {
			return r
		}
	}
	return nil
}

// applies reports whether r matches f, ignoring when.
func (p *Policy) applies(r *TTLRule, f ObjectFacts) bool {
	return r.TTLSecondsAfterFinished != nil &&
		slices.Contains(r.Kinds, f.Kind) &&
		(r.IncludeOperatorJobs || !isOperatorJob(f)) &&
		matchNamespace(r.Namespaces, f.Namespace) &&
		matchSelector(r.NamespaceSelector, f.NamespaceLabels) &&
		matchSelector(r.Selector, f.Labels)
}

// bounded clamps a rule's TTL into [minSeconds, maxSeconds] and raises a
// hook Job's to hookFloorSeconds, saying which bound moved it last.
func (p *Policy) bounded(ttl int32, f ObjectFacts) (int32, Bound) {
	return p.Bounded(ttl, isHook(f.Annotations))
}

// Bounded is the TTL a rule's ttl becomes on an object that is, or is not,
// a deploy tool's hook, and the bound that moved it last, if any.
func (p *Policy) Bounded(ttl int32, hook bool) (int32, Bound) {
	var bound Bound
	if m := deref(p.TTL.MinSeconds); ttl < m {
		ttl, bound = m, BoundMinSeconds
	}
	if m := p.TTL.MaxSeconds; m != nil && ttl > *m {
		ttl, bound = *m, BoundMaxSeconds
	}
	if hook {
		if m := deref(p.TTL.HookFloorSeconds); ttl < m {
			ttl, bound = m, BoundHookFloorSeconds
		}
	}
	return ttl, bound
}

// DecidesBy reports whether a decision reads the annotation key: whether
// policy set the TTL, and the deploy tools' hook annotations. A cache may
// drop the others, AnnotationDecision too: it is written for people.
func DecidesBy(annotation string) bool {
	return annotation == AnnotationTTLSource || slices.Contains(hookAnnotations, annotation)
}

func isHook(annotations map[string]string) bool {
	return slices.ContainsFunc(hookAnnotations, func(k string) bool {
		_, ok := annotations[k]
		return ok
	})
}

// graceFloor is the least TTL that keeps an object that finished at
// c.FinishedAt until grace seconds after c.Now.
func graceFloor(c Completion, grace int32) int32 {
	elapsed := max(c.Now.Sub(c.FinishedAt), 0)
	secs := int64(elapsed / time.Second)
	if elapsed%time.Second != 0 {
		secs++
	}
	return int32(min(secs+int64(grace), math.MaxInt32))
}

func deref(v *int32) int32 {
	if v == nil {
		return 0
	}
	return *v
}
