package manager

import (
	"fmt"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// policyState is what one replica knows of its policy: the ConfigMap
// version it last looked at, the version in force, and whether it may
// admit. It changes only through next, a pure function, so the rules below
// are table-tested apart from informers and HTTP.
type policyState struct {
	// observed is the resourceVersion last looked at, "" for no
	// ConfigMap; nil before the first look. A resync of the same version
	// repeats nothing.
	observed *string
	// enforced is the resourceVersion of the policy in force, "" for the
	// built-in defaults (no ConfigMap); nil while nothing has loaded
	// since the replica started.
	enforced *string
	// notReady, when set, says why the replica must not admit: the
	// ConfigMap exists but no version of it has loaded since start, so
	// the defaults would silently stand in for the admin's ceilings and
	// replicas could disagree.
	notReady error
}

// policyOutcome is what a look at the ConfigMap did.
type policyOutcome int

const (
	// policyUnchanged: the version was already looked at.
	policyUnchanged policyOutcome = iota
	// policyDefaults: there is no ConfigMap; the built-in defaults apply.
	policyDefaults
	// policyLoaded: the version loaded and is now in force.
	policyLoaded
	// policyKept: the version does not load; the last good one stays.
	policyKept
	// policyUnready: the version does not load and nothing has loaded
	// since start; the replica is not ready.
	policyUnready
)

// policyObservation is one look at the policy ConfigMap.
type policyObservation struct {
	key    types.NamespacedName
	exists bool
	// resourceVersion of the ConfigMap, when it exists.
	resourceVersion string
	// errs are why it does not load; empty when it does.
	errs field.ErrorList
}

// next returns the state after an observation and what changed.
func (s policyState) next(o policyObservation) (policyState, policyOutcome) {
	version := ""
	if o.exists {
		version = o.resourceVersion
	}
	if s.observed != nil && *s.observed == version {
		return s, policyUnchanged
	}
	s.observed = &version
	switch {
	case !o.exists:
		s.enforced, s.notReady = &version, nil
		return s, policyDefaults
	case len(o.errs) == 0:
		s.enforced, s.notReady = &version, nil
		return s, policyLoaded
	case s.enforced != nil:
		return s, policyKept
	default:
		s.notReady = fmt.Errorf("policy ConfigMap %s (resourceVersion %s) does not load and no policy has loaded since this replica started; fix it with kubectl edit configmap -n %s %s: %w",
			o.key, version, o.key.Namespace, o.key.Name, o.errs.ToAggregate())
		return s, policyUnready
	}
}

// ready reports why the replica may not admit yet, or nil.
func (s policyState) ready() error {
	switch {
	case s.notReady != nil:
		return s.notReady
	case s.enforced == nil:
		return fmt.Errorf("policy not loaded yet")
	}
	return nil
}
