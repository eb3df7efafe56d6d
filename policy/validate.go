package policy

import (
	"fmt"
	"path"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Allowed values, sorted, as NotSupported lists them.
var (
	supportedModes    = []Mode{ModeAudit, ModeEnforce}
	supportedExplicit = []ExplicitTTL{ExplicitOverride, ExplicitRespect}
	supportedKinds    = []ObjectKind{KindJob, KindTask}
	supportedWhen     = []When{WhenCreated, WhenFailed, WhenFinished, WhenSucceeded}
)

// Validate reports everything wrong with a policy, with paths from the
// document root. An optional field left nil is valid: SetDefaults fills it.
func Validate(p *Policy) field.ErrorList {
	errs := validateHeader(p)
	errs = append(errs, validateEnum(p.Mode, supportedModes, field.NewPath("mode"))...)
	errs = append(errs, validateTTL(&p.TTL, field.NewPath("ttl"))...)
	errs = append(errs, validateTasks(&p.Tasks, field.NewPath("tasks"))...)
	errs = append(errs, validateExemptions(&p.Exemptions, field.NewPath("exemptions"))...)
	return errs
}

func validateHeader(p *Policy) field.ErrorList {
	return append(
		validateEnum(p.APIVersion, []string{APIVersion}, field.NewPath("apiVersion")),
		validateEnum(p.Kind, []string{DocumentKind}, field.NewPath("kind"))...)
}

func validateEnum[T ~string](v T, allowed []T, fldPath *field.Path) field.ErrorList {
	for _, a := range allowed {
		if v == a {
			return nil
		}
	}
	if v == "" {
		quoted := make([]string, len(allowed))
		for i, a := range allowed {
			quoted[i] = fmt.Sprintf("%q", a)
		}
		if len(quoted) == 1 {
			return field.ErrorList{field.Required(fldPath, "must be "+quoted[0])}
		}
		return field.ErrorList{field.Required(fldPath, "must be one of "+strings.Join(quoted, ", "))}
	}
	return field.ErrorList{field.NotSupported(fldPath, string(v), allowed)}
}

func validateTTL(t *TTLPolicy, fldPath *field.Path) field.ErrorList {
	errs := validateEnum(t.Explicit, supportedExplicit, fldPath.Child("explicit"))
	errs = append(errs, validateNonNegative(t.MinSeconds, fldPath.Child("minSeconds"))...)
	errs = append(errs, validateNonNegative(t.MaxSeconds, fldPath.Child("maxSeconds"))...)
	errs = append(errs, validateNonNegative(t.HookFloorSeconds, fldPath.Child("hookFloorSeconds"))...)
	errs = append(errs, validateNonNegative(t.CompletionGraceSeconds, fldPath.Child("completionGraceSeconds"))...)
	if t.MaxSeconds != nil {
		if t.MinSeconds != nil && *t.MinSeconds > *t.MaxSeconds {
			errs = append(errs, field.Invalid(fldPath.Child("maxSeconds"), *t.MaxSeconds,
				fmt.Sprintf("must be at least ttl.minSeconds (%d)", *t.MinSeconds)))
		}
		if t.HookFloorSeconds != nil && *t.HookFloorSeconds > *t.MaxSeconds {
			errs = append(errs, field.Invalid(fldPath.Child("hookFloorSeconds"), *t.HookFloorSeconds,
				fmt.Sprintf("must not exceed ttl.maxSeconds (%d)", *t.MaxSeconds)))
		}
	}

	names := sets.New[string]()
	for i := range t.Rules {
		errs = append(errs, validateRule(&t.Rules[i], names, fldPath.Child("rules").Index(i))...)
	}
	return errs
}

func validateRule(r *TTLRule, names sets.Set[string], fldPath *field.Path) field.ErrorList {
	errs := validateName(r.Name, names, fldPath.Child("name"))
	kindsPath := fldPath.Child("kinds")
	if len(r.Kinds) == 0 {
		errs = append(errs, field.Required(kindsPath, `list the kinds the rule applies to: "Job", "Task" or both`))
	}
	seen := sets.New[ObjectKind]()
	for i, k := range r.Kinds {
		switch {
		case seen.Has(k):
			errs = append(errs, field.Duplicate(kindsPath.Index(i), string(k)))
		default:
			errs = append(errs, validateEnum(k, supportedKinds, kindsPath.Index(i))...)
		}
		seen.Insert(k)
	}
	errs = append(errs, validateGlobs(r.Namespaces, fldPath.Child("namespaces"))...)
	errs = append(errs, validateSelector(r.NamespaceSelector, fldPath.Child("namespaceSelector"))...)
	errs = append(errs, validateSelector(r.Selector, fldPath.Child("selector"))...)
	errs = append(errs, validateEnum(r.When, supportedWhen, fldPath.Child("when"))...)
	ttlPath := fldPath.Child("ttlSecondsAfterFinished")
	if r.TTLSecondsAfterFinished == nil {
		errs = append(errs, field.Required(ttlPath, "the TTL in seconds the rule gives, for example 3600"))
	} else {
		errs = append(errs, validateNonNegative(r.TTLSecondsAfterFinished, ttlPath)...)
	}
	return errs
}

func validateTasks(t *TaskPolicy, fldPath *field.Path) field.ErrorList {
	capPath := fldPath.Child("cap")
	errs := validateNonNegative(t.Cap.Default, capPath.Child("default"))
	names := sets.New[string]()
	for i := range t.Cap.Overrides {
		errs = append(errs, validateOverride(&t.Cap.Overrides[i], names, capPath.Child("overrides").Index(i))...)
	}
	errs = append(errs, validateResources(&t.Resources, fldPath.Child("resources"))...)
	errs = append(errs, validateTimeout(&t.Timeout, fldPath.Child("timeout"))...)
	errs = append(errs, validatePodMetadata(&t.PodMetadata, fldPath.Child("podMetadata"))...)
	errs = append(errs, validateSecurityGroupBindings(t.SecurityGroups, fldPath.Child("securityGroups"))...)
	errs = append(errs, validateLauncherDetection(&t.LauncherDetection, fldPath.Child("launcherDetection"))...)
	if d := t.PendingDeadline; d != nil && d.Duration < 0 {
		errs = append(errs, field.Invalid(fldPath.Child("pendingDeadline"), d.Duration.String(), "must not be negative; 0s never fails pending Tasks"))
	}
	errs = append(errs, validatePodSecurity(t, fldPath)...)
	return errs
}

func validateOverride(o *CapOverride, names sets.Set[string], fldPath *field.Path) field.ErrorList {
	errs := validateName(o.Name, names, fldPath.Child("name"))
	if len(o.Namespaces) == 0 && o.NamespaceSelector == nil && o.AppSelector == nil {
		errs = append(errs, field.Required(fldPath,
			"set namespaces, namespaceSelector or appSelector; to change the cap everywhere, set tasks.cap.default"))
	}
	errs = append(errs, validateGlobs(o.Namespaces, fldPath.Child("namespaces"))...)
	errs = append(errs, validateSelector(o.NamespaceSelector, fldPath.Child("namespaceSelector"))...)
	errs = append(errs, validateSelector(o.AppSelector, fldPath.Child("appSelector"))...)
	if o.MaxTasks == nil {
		errs = append(errs, field.Required(fldPath.Child("maxTasks"), "the number of newest Tasks to keep per App, for example 50"))
	} else {
		errs = append(errs, validateNonNegative(o.MaxTasks, fldPath.Child("maxTasks"))...)
	}
	return errs
}

func validateResources(r *TaskResourcePolicy, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, name := range resourceNames {
		def, ceil := r.Defaults.get(name), r.Ceilings.get(name)
		defPath := fldPath.Child("defaults", name)
		ceilPath := fldPath.Child("ceilings", name)
		if def != nil && def.Sign() < 0 {
			errs = append(errs, field.Invalid(defPath, quantityString(def), "must not be negative; 0 sets no default"))
		}
		if ceil != nil && ceil.Sign() <= 0 {
			errs = append(errs, field.Invalid(ceilPath, quantityString(ceil), "must be greater than 0; omit it for no ceiling"))
		}
		if def != nil && ceil != nil && ceil.Sign() > 0 && def.Cmp(*ceil) > 0 {
			errs = append(errs, field.Invalid(defPath, quantityString(def),
				fmt.Sprintf("must not exceed tasks.resources.ceilings.%s (%s)", name, quantityString(ceil))))
		}
	}
	return errs
}

func validateTimeout(t *TaskTimeoutPolicy, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	defPath, maxPath := fldPath.Child("default"), fldPath.Child("max")
	if t.Default != nil && t.Default.Duration < 0 {
		errs = append(errs, field.Invalid(defPath, t.Default.Duration.String(), "must not be negative; 0s means no limit"))
	}
	if t.Max == nil {
		return errs
	}
	maxTimeout := t.Max.Duration
	if maxTimeout <= 0 {
		return append(errs, field.Invalid(maxPath, maxTimeout.String(), "must be greater than 0s; omit it for no maximum"))
	}
	if t.Default != nil {
		switch d := t.Default.Duration; {
		case d == 0:
			errs = append(errs, field.Invalid(defPath, d.String(),
				fmt.Sprintf("0s means no limit, which tasks.timeout.max forbids; choose at most %s", formatDuration(maxTimeout))))
		case d > maxTimeout:
			errs = append(errs, field.Invalid(defPath, d.String(),
				fmt.Sprintf("must not exceed tasks.timeout.max (%s)", formatDuration(maxTimeout))))
		}
	}
	return errs
}

func validateExemptions(e *Exemptions, fldPath *field.Path) field.ErrorList {
	errs := validateGlobs(e.Namespaces, fldPath.Child("namespaces"))
	if e.OptOutLabel != "" {
		errs = append(errs, metav1validation.ValidateLabelName(e.OptOutLabel, fldPath.Child("optOutLabel"))...)
	}
	return errs
}

// validateName checks a rule or override name: required, a DNS label so it
// is safe in metric labels and annotations, and unique.
func validateName(name string, seen sets.Set[string], fldPath *field.Path) field.ErrorList {
	if name == "" {
		return field.ErrorList{field.Required(fldPath, "a name such as failed-jobs-week, used in decisions and metrics")}
	}
	if seen.Has(name) {
		return field.ErrorList{field.Duplicate(fldPath, name)}
	}
	seen.Insert(name)
	var errs field.ErrorList
	for _, msg := range validation.IsDNS1123Label(name) {
		errs = append(errs, field.Invalid(fldPath, name, msg))
	}
	return errs
}

func validateNonNegative(v *int32, fldPath *field.Path) field.ErrorList {
	if v != nil && *v < 0 {
		return field.ErrorList{field.Invalid(fldPath, *v, "must be greater than or equal to 0")}
	}
	return nil
}

func validateGlobs(globs []string, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, g := range globs {
		if g == "" {
			errs = append(errs, field.Required(fldPath.Index(i), "a namespace name or a glob such as team-*"))
			continue
		}
		if _, err := path.Match(g, ""); err != nil {
			errs = append(errs, field.Invalid(fldPath.Index(i), g,
				"must be a namespace name or a glob in path.Match syntax, such as team-* or ci-[0-9]"))
		}
	}
	return errs
}

func validateSelector(sel *metav1.LabelSelector, fldPath *field.Path) field.ErrorList {
	if sel == nil {
		return nil
	}
	errs := metav1validation.ValidateLabelSelector(sel, metav1validation.LabelSelectorValidationOptions{}, fldPath)
	if len(errs) > 0 {
		return errs
	}
	// Matching converts the selector the same way; refuse here what it
	// would refuse there.
	if _, err := metav1.LabelSelectorAsSelector(sel); err != nil {
		errs = append(errs, field.Invalid(fldPath, field.OmitValueType{}, err.Error()))
	}
	return errs
}

// quantityString renders q without writing to it: Quantity.String caches
// its result in the receiver, and a shared *Policy must stay read-only.
func quantityString(q *resource.Quantity) string {
	c := q.DeepCopy()
	return c.String()
}

// formatDuration renders d as admins write it: 24h rather than 24h0m0s.
func formatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
