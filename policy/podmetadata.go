package policy

import (
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/taskgate/taskgate/message"
)

// reservedPrefix is the prefix of taskgate's own annotations and labels
// (taskgate.dev/app, taskgate.dev/sg-<group>, ...). A Task's never reach
// its pod: a pod labelled taskgate.dev/sg-db would pass as a member of a
// security group its App was never bound to.
const reservedPrefix = "taskgate.dev/"

// PodMetadataDecision is which of a Task's annotations and labels its pod
// gets, under tasks.podMetadata.
type PodMetadataDecision struct {
	// Annotations and Labels pass to the pod; nil when none do.
	Annotations map[string]string
	Labels      map[string]string
	// DroppedAnnotations and DroppedLabels are the keys the allowlist
	// leaves off, sorted. taskgate's own keys, kubectl's last-applied copy
	// and the TTL opt-out label are left off silently: they are about the
	// Task, not its pod.
	DroppedAnnotations []string
	DroppedLabels      []string
	// Audit is true in audit mode: dropped annotations still pass, as they
	// did before the allowlist. Dropped labels never pass, because Task
	// labels never reached the pod before it.
	Audit bool
}

// TaskPodMetadata decides which of a Task's annotations and labels reach
// its pod: those tasks.podMetadata lists, and no others.
func (p *Policy) TaskPodMetadata(annotations, labels map[string]string) PodMetadataDecision {
	d := PodMetadataDecision{Audit: p.Mode == ModeAudit}
	d.Annotations, d.DroppedAnnotations = p.allowMetadata(annotations, p.Tasks.PodMetadata.Annotations, d.Audit)
	d.Labels, d.DroppedLabels = p.allowMetadata(labels, p.Tasks.PodMetadata.Labels, false)
	return d
}

func (p *Policy) allowMetadata(in map[string]string, allowed []string, passDropped bool) (map[string]string, []string) {
	var out map[string]string
	var dropped []string
	for _, k := range slices.Sorted(maps.Keys(in)) {
		if p.taskOnlyKey(k) {
			continue
		}
		if !matchAnyGlob(allowed, k) {
			dropped = append(dropped, k)
			if !passDropped {
				continue
			}
		}
		if out == nil {
			out = map[string]string{}
		}
		out[k] = in[k]
	}
	return out, dropped
}

// taskOnlyKey reports whether k belongs to the Task and never to its pod.
func (p *Policy) taskOnlyKey(k string) bool {
	return strings.HasPrefix(k, reservedPrefix) || k == corev1.LastAppliedConfigAnnotation || k == p.Exemptions.OptOutLabel
}

// Warnings are the admission warnings naming the keys that will not reach
// the pod, each under 120 characters.
func (d PodMetadataDecision) Warnings() []string {
	var w []string
	if len(d.DroppedAnnotations) > 0 {
		s := "annotations not copied to the pod"
		if d.Audit {
			s = "audit: annotations would not be copied to the pod"
		}
		w = append(w, message.Warning(s+" (policy tasks.podMetadata.annotations): "+strings.Join(d.DroppedAnnotations, ", ")))
	}
	if len(d.DroppedLabels) > 0 {
		w = append(w, message.Warning("labels not copied to the pod (policy tasks.podMetadata.labels): "+strings.Join(d.DroppedLabels, ", ")))
	}
	return w
}

func validatePodMetadata(m *PodMetadataPolicy, fldPath *field.Path) field.ErrorList {
	errs := validateKeyGlobs(m.Annotations, fldPath.Child("annotations"))
	return append(errs, validateKeyGlobs(m.Labels, fldPath.Child("labels"))...)
}

// validateKeyGlobs checks annotation or label keys and globs: a key must be
// one the API server accepts, a glob must parse, and neither may match one
// of taskgate's own keys.
func validateKeyGlobs(globs []string, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, g := range globs {
		p := fldPath.Index(i)
		if g == "" {
			errs = append(errs, field.Required(p, "a key such as example.com/team, or a glob such as example.com/*"))
			continue
		}
		if _, err := path.Match(g, ""); err != nil {
			errs = append(errs, field.Invalid(p, g, "must be a key or a glob in path.Match syntax, such as example.com/*"))
			continue
		}
		if !strings.ContainsAny(g, `*?[\`) {
			for _, msg := range validation.IsQualifiedName(g) {
				errs = append(errs, field.Invalid(p, g, msg))
			}
		}
		// * does not match /, so only a glob with a prefix can match a
		// reserved key.
		if prefix, _, ok := strings.Cut(g, "/"); ok {
			if m, _ := path.Match(prefix, strings.TrimSuffix(reservedPrefix, "/")); m {
				errs = append(errs, field.Invalid(p, g, fmt.Sprintf(
					"matches %s keys, which are taskgate's own and never come from a Task; name another prefix", reservedPrefix)))
			}
		}
	}
	return errs
}
