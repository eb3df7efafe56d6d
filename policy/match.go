package policy

import (
	"path"
	"slices"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// matchNamespace reports whether ns matches any of the globs. No globs
// match every namespace.
func matchNamespace(globs []string, ns string) bool {
	if len(globs) == 0 {
		return true
	}
	return matchAnyGlob(globs, ns)
}

func matchAnyGlob(globs []string, ns string) bool {
	return slices.ContainsFunc(globs, func(g string) bool {
		// Validate rejects malformed globs; one that slips through matches
		// nothing rather than everything.
		ok, err := path.Match(g, ns)
		return err == nil && ok
	})
}

// matchSelector reports whether the labels match sel. No selector matches
// everything; a malformed one, which Validate rejects, matches nothing.
func matchSelector(sel *metav1.LabelSelector, l map[string]string) bool {
	if sel == nil {
		return true
	}
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return false
	}
	return s.Matches(labels.Set(l))
}
