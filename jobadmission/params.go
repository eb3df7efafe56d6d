package jobadmission

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"

	"github.com/taskgate/taskgate/api/v1alpha1"
	"github.com/taskgate/taskgate/policy"
)

// The most of each list JobTTLParams holds: the CRD's maxItems, which
// bound what kube-apiserver estimates the policies' CEL may cost.
const (
	maxRules            = 64
	maxNamespaces       = 32
	maxExemptNamespaces = 64
	maxRequirements     = 32
	maxValues           = 32
)

// WarningsLabel marks the JobTTLParams of a policy whose Jobs may be
// warned of (audit mode, or ttl.explicit: Override): the only params the
// ValidatingPolicy's binding selects.
const WarningsLabel = "taskgate.dev/job-ttl-warnings"

// Labels are the labels a JobTTLParams of spec carries.
func Labels(spec v1alpha1.JobTTLParamsSpec) map[string]string {
	if ptr.Deref(spec.Audit, false) || ptr.Deref(spec.OverrideExplicit, false) {
		return map[string]string{WarningsLabel: "true"}
	}
	return nil
}

// Params compiles the Job part of p into the JobTTLParams spec the
// admission policies read. Its errors are at the policy document's paths,
// for a policy larger than the params can hold.
func Params(p *policy.Policy) (v1alpha1.JobTTLParamsSpec, field.ErrorList) {
	var errs field.ErrorList
	audit := p.Mode == policy.ModeAudit
	spec := v1alpha1.JobTTLParamsSpec{OptOutLabel: p.Exemptions.OptOutLabel}
	if spec.OptOutLabel == "" {
		spec.OptOutLabel = policy.DefaultOptOutLabel
	}
	if audit {
		spec.Audit = ptr.To(true)
	}
	if p.TTL.Explicit == policy.ExplicitOverride {
		spec.OverrideExplicit = ptr.To(true)
	}
	system := []string{"kube-system", "kube-node-lease"}
	if p.ManagerNamespace != "" {
		system = append(system, p.ManagerNamespace)
	}
	exempt, globErrs := namespaceMatch(p.Exemptions.Namespaces, field.NewPath("exemptions", "namespaces"), maxExemptNamespaces-len(system))
	exempt.Names = append(system, exempt.Names...)
	spec.ExemptNamespaces = &exempt
	errs = append(errs, globErrs...)

	rulesPath := field.NewPath("ttl", "rules")
	for i := range p.TTL.Rules {
		r := &p.TTL.Rules[i]
		if !slices.Contains(r.Kinds, policy.KindJob) || r.TTLSecondsAfterFinished == nil {
			continue
		}
		if len(spec.Rules) == maxRules {
			errs = append(errs, tooMany(rulesPath, countJobRules(p), maxRules, "rules for Jobs"))
			break
		}
		rule, ruleErrs := compileRule(p, r, audit, rulesPath.Index(i))
		errs = append(errs, ruleErrs...)
		spec.Rules = append(spec.Rules, rule)
	}
	return spec, errs
}

func compileRule(p *policy.Policy, r *policy.TTLRule, audit bool, path *field.Path) (v1alpha1.JobTTLParamsRule, field.ErrorList) {
	rule := v1alpha1.JobTTLParamsRule{
		Name:                    r.Name,
		When:                    string(r.When),
		TTLSecondsAfterFinished: ptr.To(*r.TTLSecondsAfterFinished),
		Plain:                   outcome(p, r, audit, false),
		Hook:                    outcome(p, r, audit, true),
	}
	if r.IncludeOperatorJobs {
		rule.IncludeOperatorJobs = ptr.To(true)
	}
	var errs, more field.ErrorList
	if len(r.Namespaces) > 0 {
		var m v1alpha1.NamespaceMatch
		m, errs = namespaceMatch(r.Namespaces, path.Child("namespaces"), maxNamespaces)
		rule.Namespaces = &m
	}
	rule.NamespaceSelector, more = requirements(r.NamespaceSelector, path.Child("namespaceSelector"))
	errs = append(errs, more...)
	rule.Selector, more = requirements(r.Selector, path.Child("selector"))
	return rule, append(errs, more...)
}

// outcome is what r writes on a Job that is, or is not, a hook: its
// bounded TTL and the messages policy.TTLDecision gives such a decision.
func outcome(p *policy.Policy, r *policy.TTLRule, audit, hook bool) v1alpha1.JobTTLOutcome {
	ttl, bound := p.Bounded(*r.TTLSecondsAfterFinished, hook)
	d := policy.TTLDecision{TTL: &ttl, Rule: r.Name, Outcome: policy.OutcomeSet, Bound: bound, Audit: audit}
	o := v1alpha1.JobTTLOutcome{TTLSecondsAfterFinished: ptr.To(ttl), Set: d.String()}
	d.Replaced = true
	o.Replace = d.String()
	return o
}

// namespaceMatch compiles globs into the cheapest tests that match the
// same namespaces (v1alpha1.NamespaceMatch).
func namespaceMatch(globs []string, path *field.Path, most int) (v1alpha1.NamespaceMatch, field.ErrorList) {
	var m v1alpha1.NamespaceMatch
	if len(globs) > most {
		return m, field.ErrorList{tooMany(path, len(globs), most, "namespaces")}
	}
	var errs field.ErrorList
	for i, g := range globs {
		literal, wildcard := strings.CutSuffix(g, "*")
		switch {
		case !strings.ContainsAny(g, globMeta):
			m.Names = append(m.Names, g)
		case wildcard && !strings.ContainsAny(literal, globMeta):
			m.Prefixes = append(m.Prefixes, literal)
		default:
			re, err := policy.GlobRegexp(g)
			if err != nil {
				errs = append(errs, field.Invalid(path.Index(i), g, err.Error()))
				continue
			}
			m.Patterns = append(m.Patterns, re)
		}
	}
	return m, errs
}

// globMeta are the characters path.Match gives a meaning in a glob.
const globMeta = `*?[\`

// requirements writes sel as requirements, matchLabels as In with one
// value, in key order, then matchExpressions in theirs.
func requirements(sel *metav1.LabelSelector, path *field.Path) ([]v1alpha1.LabelRequirement, field.ErrorList) {
	if sel == nil {
		return nil, nil
	}
	var out []v1alpha1.LabelRequirement
	keys := make([]string, 0, len(sel.MatchLabels))
	for k := range sel.MatchLabels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		out = append(out, v1alpha1.LabelRequirement{Key: k, Operator: string(metav1.LabelSelectorOpIn), Values: []string{sel.MatchLabels[k]}})
	}
	var errs field.ErrorList
	for i, e := range sel.MatchExpressions {
		if len(e.Values) > maxValues {
			errs = append(errs, tooMany(path.Child("matchExpressions").Index(i).Child("values"), len(e.Values), maxValues, "values"))
		}
		out = append(out, v1alpha1.LabelRequirement{Key: e.Key, Operator: string(e.Operator), Values: slices.Clone(e.Values)})
	}
	if len(out) > maxRequirements {
		errs = append(errs, tooMany(path, len(out), maxRequirements, "requirements"))
	}
	return out, errs
}

func countJobRules(p *policy.Policy) int {
	n := 0
	for _, r := range p.TTL.Rules {
		if slices.Contains(r.Kinds, policy.KindJob) {
			n++
		}
	}
	return n
}

// tooMany says that a list is longer than the params hold, and the ways
// out.
func tooMany(path *field.Path, n, most int, what string) *field.Error {
	return &field.Error{Type: field.ErrorTypeTooMany, Field: path.String(), BadValue: n, Detail: fmt.Sprintf(
		"must have at most %d %s while kube-apiserver's admission policies admit Jobs (the chart's jobAdmission: policy); "+
			"use fewer, or install the chart with jobAdmission: webhook", most, what)}
}
