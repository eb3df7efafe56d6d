package policy

// Exemption returns why TTL policy must leave the object alone, as an
// Exempt* reason, or "" when it may act. The checks run in this order:
//
//  1. kube-system and kube-node-lease: cluster machinery, never ours;
//  2. the manager's own namespace;
//  3. exemptions.namespaces;
//  4. the opt-out label with value "disabled" on the object;
//  5. the opt-out label with value "disabled" on its namespace;
//  6. a Job owned by something other than a CronJob (an operator's Job,
//     whose owner may read it after it finishes) that no rule with
//     includeOperatorJobs matches.
func (p *Policy) Exemption(f ObjectFacts) string {
	switch {
	case f.Namespace == "kube-system" || f.Namespace == "kube-node-lease":
		return ExemptSystemNamespace
	case p.ManagerNamespace != "" && f.Namespace == p.ManagerNamespace:
		return ExemptManagerNamespace
	case matchAnyGlob(p.Exemptions.Namespaces, f.Namespace):
		return ExemptNamespace
	case p.optedOut(f.Labels):
		return ExemptOptOut
	case p.optedOut(f.NamespaceLabels):
		return ExemptNamespaceOptOut
	case isOperatorJob(f) && !p.anyRuleMatches(f):
		return ExemptOperatorJob
	}
	return ""
}

func (p *Policy) optedOut(labels map[string]string) bool {
	key := p.Exemptions.OptOutLabel
	if key == "" {
		key = DefaultOptOutLabel
	}
	return labels[key] == OptOutValue
}

// isOperatorJob reports whether f is a Job some controller other than a
// CronJob owns. CronJob Jobs are ordinary workload; others belong to
// operators that may still read them after they finish.
func isOperatorJob(f ObjectFacts) bool {
	return f.Kind == KindJob && f.OwnerKind != "" && f.OwnerKind != "CronJob"
}

// anyRuleMatches reports whether any applicable rule, whatever its when,
// matches f. For operator Jobs only rules with includeOperatorJobs apply,
// so this decides their exemption the same way at creation and completion.
func (p *Policy) anyRuleMatches(f ObjectFacts) bool {
	for i := range p.TTL.Rules {
		if p.applies(&p.TTL.Rules[i], f) {
			return true
		}
	}
	return false
}
