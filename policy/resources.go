package policy

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/taskgate/taskgate/message"
)

// The resources a Task may set, as named in the policy and in Task spec.
const (
	ResourceCPU    = "cpu"
	ResourceMemory = "memory"
	ResourceDisk   = "disk"
)

var resourceNames = [...]string{ResourceCPU, ResourceMemory, ResourceDisk}

func (r *Resources) get(name string) *resource.Quantity {
	switch name {
	case ResourceCPU:
		return r.CPU
	case ResourceMemory:
		return r.Memory
	case ResourceDisk:
		return r.Disk
	}
	return nil
}

func (r *Resources) set(name string, q *resource.Quantity) {
	switch name {
	case ResourceCPU:
		r.CPU = q
	case ResourceMemory:
		r.Memory = q
	case ResourceDisk:
		r.Disk = q
	}
}

// ResourceDecision is the cpu, memory and disk a Task runs with.
type ResourceDecision struct {
	// Resources are what the Task runs with: its own or its App's values,
	// and policy defaults for the rest. Callers may modify them.
	Resources Resources
	// Defaulted names the resources that came from tasks.resources.defaults.
	Defaulted []string
	// Rule is RuleDefault: resources have no named rules.
	Rule string
	// Outcome is OutcomeDefaulted or OutcomeUnchanged.
	Outcome Outcome
	// Audit: report Defaulted, run with what was set.
	Audit bool
}

// String renders the decision in one line for an annotation or warning.
func (d ResourceDecision) String() string {
	if len(d.Defaulted) == 0 {
		return "resources unchanged"
	}
	parts := make([]string, len(d.Defaulted))
	for i, name := range d.Defaulted {
		parts[i] = name + "=" + quantityString(d.Resources.get(name))
	}
	s := "set default " + strings.Join(parts, ", ") + " (tasks.resources.defaults)"
	if d.Audit {
		s = "audit: would " + s
	}
	return message.Warning(s)
}

// ResolveTaskResources fills each of cpu, memory and disk that set leaves
// nil from tasks.resources.defaults. set is what the Task asks for, else
// what its App asks for (callers take the App's limit, else its request).
// A default of 0 fills nothing.
func (p *Policy) ResolveTaskResources(set Resources) ResourceDecision {
	d := ResourceDecision{Rule: RuleDefault, Outcome: OutcomeUnchanged, Audit: p.Mode == ModeAudit}
	for _, name := range resourceNames {
		if q := set.get(name); q != nil {
			d.Resources.set(name, new(q.DeepCopy()))
			continue
		}
		if def := p.Tasks.Resources.Defaults.get(name); def != nil && !def.IsZero() {
			d.Resources.set(name, new(def.DeepCopy()))
			d.Defaulted = append(d.Defaulted, name)
			d.Outcome = OutcomeDefaulted
		}
	}
	return d
}

// ValidateTaskResources rejects any of r above its ceiling in
// tasks.resources.ceilings. Errors are under fldPath.Child("cpu"),
// ("memory") and ("disk"), as in Task spec. In audit mode they come back as
// warnings instead.
func (p *Policy) ValidateTaskResources(r Resources, fldPath *field.Path) (field.ErrorList, []string) {
	var fs []finding
	for _, name := range resourceNames {
		q, ceiling := r.get(name), p.Tasks.Resources.Ceilings.get(name)
		if q == nil || ceiling == nil {
			continue
		}
		path, c := fldPath.Child(name), quantityString(ceiling)
		if !cheapToCompare(q) {
			fs = append(fs, finding{
				err:   field.Invalid(path, field.OmitValueType{}, "is too large or too precise a quantity; ask for at most "+c),
				short: fmt.Sprintf("%s: an extreme quantity (tasks.resources.ceilings.%s is %s)", path, name, c),
			})
			continue
		}
		if q.Cmp(*ceiling) <= 0 {
			continue
		}
		v := quantityString(q)
		fs = append(fs, finding{
			err: field.Invalid(path, v, fmt.Sprintf(
				"exceeds the cluster ceiling of %s set in policy tasks.resources.ceilings.%s; ask for at most %s", c, name, c)),
			short: fmt.Sprintf("%s=%s: above the ceiling %s (tasks.resources.ceilings.%s)", path, v, c, name),
		})
	}
	return p.verdict(fs)
}

// cheapToCompare reports whether q is within bounds that every quantity
// in a loaded policy meets. Comparing rescales both sides to one exponent,
// so a Task asking for 1e1000000 would otherwise stall the webhook.
func cheapToCompare(q *resource.Quantity) bool {
	c := *q // AsDec caches its result in the receiver; keep q untouched
	d := c.AsDec()
	return d.Scale() >= -2*maxQuantityExponent && d.Scale() <= 2*maxQuantityExponent &&
		d.UnscaledBig().BitLen() <= 4*maxQuantityExponent
}

// finding is one refusal: the error for enforce mode, and a short form for
// the warning audit mode gives instead.
type finding struct {
	err   *field.Error
	short string
}

// verdict returns the errors in enforce mode. In audit mode it returns
// warnings instead, so the request is admitted and the user still sees what
// would have been refused.
func (p *Policy) verdict(fs []finding) (field.ErrorList, []string) {
	if len(fs) == 0 {
		return nil, nil
	}
	if p.Mode == ModeAudit {
		warnings := make([]string, len(fs))
		for i, f := range fs {
			warnings[i] = message.Warning("audit: would reject " + f.short)
		}
		return nil, warnings
	}
	errs := make(field.ErrorList, len(fs))
	for i, f := range fs {
		errs[i] = f.err
	}
	return errs, nil
}
