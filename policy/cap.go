package policy

import (
	"cmp"
	"slices"
	"time"
)

// AppFacts are what the cap needs to know about an App and its Tasks.
type AppFacts struct {
	Namespace       string
	NamespaceLabels map[string]string
	AppLabels       map[string]string
	// Tasks are the App's Tasks, in any order. Leave it nil to ask only for
	// the cap.
	Tasks []TaskFacts
}

// TaskFacts describe one Task for the cap.
type TaskFacts struct {
	Name string
	// ID is the Task's per-App sequence number; 0 if not yet assigned.
	ID       int64
	Created  time.Time
	Finished bool
}

// CapDecision is how many Tasks an App keeps and which must go.
type CapDecision struct {
	// Max is the number of newest Tasks the App keeps.
	Max int32
	// Rule is the override that set Max, or RuleDefault.
	Rule string
	// Outcome is OutcomeWithinCap or OutcomeOverCap.
	Outcome Outcome
	// Delete names the finished Tasks past the newest Max, newest first.
	// Tasks that have not finished are never listed. In audit mode these
	// are the Tasks that would be deleted.
	Delete []string
	Audit  bool
}

// TaskCap decides an App's cap, from the first matching override or
// tasks.cap.default, and which of f.Tasks are past it. The newest Max
// Tasks are kept whatever their state; older ones are deleted once they
// have finished, so a cap of 0 keeps no finished Task. Exemptions do not
// apply: the cap protects etcd. Raise it for an App with an override.
func (p *Policy) TaskCap(f AppFacts) CapDecision {
	d := CapDecision{
		Max: deref(p.Tasks.Cap.Default), Rule: RuleDefault, Outcome: OutcomeWithinCap, Audit: p.Mode == ModeAudit,
	}
	for i := range p.Tasks.Cap.Overrides {
		o := &p.Tasks.Cap.Overrides[i]
		if o.MaxTasks != nil &&
			matchNamespace(o.Namespaces, f.Namespace) &&
			matchSelector(o.NamespaceSelector, f.NamespaceLabels) &&
			matchSelector(o.AppSelector, f.AppLabels) {
			d.Max, d.Rule = *o.MaxTasks, o.Name
			break
		}
	}
	keep := max(int64(d.Max), 0)
	if int64(len(f.Tasks)) <= keep {
		return d
	}
	tasks := slices.Clone(f.Tasks)
	slices.SortFunc(tasks, newestFirst)
	for _, t := range tasks[keep:] {
		if t.Finished {
			d.Delete = append(d.Delete, t.Name)
		}
	}
	if len(d.Delete) > 0 {
		d.Outcome = OutcomeOverCap
	}
	return d
}

// newestFirst orders Tasks by ID, highest first; a Task with no ID yet is
// the newest of all. Creation time, then name, break ties so the order
// never depends on the input's.
func newestFirst(a, b TaskFacts) int {
	if (a.ID == 0) != (b.ID == 0) {
		if a.ID == 0 {
			return -1
		}
		return 1
	}
	return cmp.Or(
		cmp.Compare(b.ID, a.ID),
		b.Created.Compare(a.Created),
		cmp.Compare(a.Name, b.Name),
	)
}
