package policy

import (
	"cmp"
	"fmt"
	"slices"
	"sync"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	psaapi "k8s.io/pod-security-admission/api"
	psapolicy "k8s.io/pod-security-admission/policy"
)

// PodSecurityLevel is a Pod Security Standard, as the
// pod-security.kubernetes.io/enforce namespace label names it.
type PodSecurityLevel string

const (
	// PodSecurityPrivileged allows everything: the level of the deprecated
	// tasks.allowPrivileged: true.
	PodSecurityPrivileged PodSecurityLevel = PodSecurityLevel(psaapi.LevelPrivileged)
	// PodSecurityBaseline forbids known privilege escalations (the default).
	PodSecurityBaseline PodSecurityLevel = PodSecurityLevel(psaapi.LevelBaseline)
	// PodSecurityRestricted is baseline plus pod hardening best practice.
	PodSecurityRestricted PodSecurityLevel = PodSecurityLevel(psaapi.LevelRestricted)
)

var supportedPodSecurity = []PodSecurityLevel{PodSecurityBaseline, PodSecurityPrivileged, PodSecurityRestricted}

// Where a Pod Security level came from, for messages.
const (
	PodSecuritySourceNamespace = "namespace label " + psaapi.EnforceLevelLabel
	PodSecuritySourcePolicy    = "policy tasks.podSecurity"
)

// PodSecurityRequirement is the Pod Security level a Task's pod must meet
// and what set it.
type PodSecurityRequirement struct {
	Level psaapi.LevelVersion
	// Source is PodSecuritySourceNamespace or PodSecuritySourcePolicy.
	Source string
}

func (r PodSecurityRequirement) String() string {
	return fmt.Sprintf("PodSecurity %q (%s)", r.Level.String(), r.Source)
}

// elsewhere says where the setting would be allowed.
func (r PodSecurityRequirement) elsewhere() string {
	if r.Source == PodSecuritySourceNamespace {
		return "or run the App in a namespace whose " + psaapi.EnforceLevelLabel + " level allows it"
	}
	return "or ask a cluster admin for a tasks.podSecurity level that allows it"
}

// PodSecurityFor returns the stricter of the namespace's enforce level (its
// labels as PodSecurity admission reads them: an invalid value counts as
// restricted) and tasks.podSecurity. On a tie the policy's level, at the
// latest version, wins: it is at least as strict as any pinned version.
func (p *Policy) PodSecurityFor(namespaceLabels map[string]string) PodSecurityRequirement {
	ours := PodSecurityRequirement{
		Level:  psaapi.LevelVersion{Level: psaapi.Level(p.podSecurity()), Version: psaapi.LatestVersion()},
		Source: PodSecuritySourcePolicy,
	}
	ns, _ := psaapi.PolicyToEvaluate(namespaceLabels, psaapi.Policy{
		Enforce: psaapi.LevelVersion{Level: psaapi.LevelPrivileged, Version: psaapi.LatestVersion()},
	})
	if psaapi.CompareLevels(ns.Enforce.Level, ours.Level.Level) > 0 {
		return PodSecurityRequirement{Level: ns.Enforce, Source: PodSecuritySourceNamespace}
	}
	return ours
}

// podSecurity is tasks.podSecurity, also on a Policy SetDefaults has not
// seen.
func (p *Policy) podSecurity() PodSecurityLevel {
	switch {
	case p.Tasks.PodSecurity != "":
		return p.Tasks.PodSecurity
	case p.Tasks.AllowPrivileged:
		return PodSecurityPrivileged
	}
	return PodSecurityBaseline
}

// privilegedAllowed reports whether the policy lets Tasks run privileged.
func (p *Policy) privilegedAllowed() bool {
	return p.podSecurity() == PodSecurityPrivileged
}

// PodSecurityPaths say where, in the object under review, a pod's settings
// come from: an App's spec.podSecurityContext, or a Task's
// spec.resolved.podSecurityContext.
type PodSecurityPaths struct {
	// Pod is the pod spec itself, for settings the object has no field
	// for (host namespaces, host ports, probes).
	Pod                *field.Path
	PodSecurityContext *field.Path
	// SecurityContext is the security context of the one container
	// taskgate runs.
	SecurityContext *field.Path
	Volumes         *field.Path
}

// podSecurityChecks are PodSecurity admission's own checks, by ID.
var podSecurityChecks = sync.OnceValue(psapolicy.DefaultChecks)

// ValidatePodSecurity evaluates a pod against req with PodSecurity
// admission's checks, and returns one error per failed check at the field
// of paths that sets what it forbids. Privileged containers are the
// exception: when the policy itself forbids them ValidatePrivileges, which
// every caller runs too, reports them. In audit mode errors come back as
// warnings.
func (p *Policy) ValidatePodSecurity(req PodSecurityRequirement, meta *metav1.ObjectMeta, spec *corev1.PodSpec, paths PodSecurityPaths) (field.ErrorList, []string) {
	var fs []finding
	for _, id := range FailedPodSecurityChecks(req.Level, meta, spec) {
		if id.ID == "privileged" && !p.privilegedAllowed() {
			continue
		}
		path := podSecurityPath(id.ID, spec, paths)
		fs = append(fs, finding{
			err: field.Forbidden(path, fmt.Sprintf("violates %s: %s; %s, %s",
				req, reasonDetail(id.Result), podSecurityFix(id.ID), req.elsewhere())),
			short: fmt.Sprintf("%s: %s (%s)", path, id.Result.ForbiddenReason, req.Level),
		})
	}
	return p.verdict(fs)
}

// FailedCheck is one PodSecurity check a pod fails.
type FailedCheck struct {
	ID     psapolicy.CheckID
	Result psapolicy.CheckResult
}

// FailedPodSecurityChecks runs each of PodSecurity admission's checks that
// applies at lv and returns those the pod fails, in PodSecurity's order:
// baseline checks, then restricted ones, each by ID. It evaluates check by
// check, rather than through psapolicy.Evaluator, because only that names
// the check that failed; TestFailedChecksAgreeWithEvaluator holds the two
// to the same verdicts.
func FailedPodSecurityChecks(lv psaapi.LevelVersion, meta *metav1.ObjectMeta, spec *corev1.PodSpec) []FailedCheck {
	if lv.Level == psaapi.LevelPrivileged {
		return nil
	}
	checks := podSecurityChecks()
	overridden := map[psapolicy.CheckID]bool{}
	var applicable []psapolicy.Check
	for _, c := range checks {
		if c.Level == psaapi.LevelRestricted && lv.Level != psaapi.LevelRestricted {
			continue
		}
		v := versionedCheck(c, lv.Version)
		if v == nil {
			continue
		}
		for _, o := range v.OverrideCheckIDs {
			overridden[o] = true
		}
		applicable = append(applicable, c)
	}
	slices.SortStableFunc(applicable, func(a, b psapolicy.Check) int {
		if a.Level != b.Level {
			return psaapi.CompareLevels(a.Level, b.Level)
		}
		return cmp.Compare(a.ID, b.ID)
	})
	var failed []FailedCheck
	for _, c := range applicable {
		if overridden[c.ID] {
			continue
		}
		if r := versionedCheck(c, lv.Version).CheckPod(meta, spec); !r.Allowed {
			failed = append(failed, FailedCheck{ID: c.ID, Result: r})
		}
	}
	return failed
}

// versionedCheck is the revision of c in force at version v, as
// PodSecurity admission picks it: the newest whose minimum version v has
// reached. Nil when c is newer than v.
func versionedCheck(c psapolicy.Check, v psaapi.Version) *psapolicy.VersionedCheck {
	var in *psapolicy.VersionedCheck
	for i := range c.Versions {
		if v.Latest() || !v.Older(c.Versions[i].MinimumVersion) {
			in = &c.Versions[i]
		}
	}
	return in
}

func reasonDetail(r psapolicy.CheckResult) string {
	if r.ForbiddenDetail == "" {
		return r.ForbiddenReason
	}
	return r.ForbiddenReason + " (" + r.ForbiddenDetail + ")"
}

// podSecurityPath is the field that sets what check id forbids. For a
// setting both the pod and the container may carry, it is whichever sets a
// forbidden value, the container's first; when neither does (restricted
// requires a value), the container's.
func podSecurityPath(id psapolicy.CheckID, spec *corev1.PodSpec, paths PodSecurityPaths) *field.Path {
	psc := spec.SecurityContext
	if psc == nil {
		psc = &corev1.PodSecurityContext{}
	}
	sc := &corev1.SecurityContext{}
	if len(spec.Containers) > 0 && spec.Containers[0].SecurityContext != nil {
		sc = spec.Containers[0].SecurityContext
	}
	c, pod := paths.SecurityContext, paths.PodSecurityContext
	switch id {
	case "privileged":
		return c.Child("privileged")
	case "capabilities_baseline":
		return c.Child("capabilities", "add")
	case "capabilities_restricted":
		if sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") {
			return c.Child("capabilities", "drop")
		}
		return c.Child("capabilities", "add")
	case "allowPrivilegeEscalation":
		return c.Child("allowPrivilegeEscalation")
	case "procMount", "procMount_restricted":
		return c.Child("procMount")
	case "runAsNonRoot":
		if sc.RunAsNonRoot == nil && psc.RunAsNonRoot != nil {
			return pod.Child("runAsNonRoot")
		}
		return c.Child("runAsNonRoot")
	case "runAsUser":
		if sc.RunAsUser != nil && *sc.RunAsUser == 0 {
			return c.Child("runAsUser")
		}
		return pod.Child("runAsUser")
	case "seccompProfile_baseline", "seccompProfile_restricted":
		confined := func(p *corev1.SeccompProfile) bool {
			return p == nil || p.Type == corev1.SeccompProfileTypeRuntimeDefault || p.Type == corev1.SeccompProfileTypeLocalhost
		}
		if confined(sc.SeccompProfile) && !confined(psc.SeccompProfile) {
			return pod.Child("seccompProfile", "type")
		}
		return c.Child("seccompProfile", "type")
	case "appArmorProfile":
		if sc.AppArmorProfile == nil || sc.AppArmorProfile.Type != corev1.AppArmorProfileTypeUnconfined {
			return pod.Child("appArmorProfile", "type")
		}
		return c.Child("appArmorProfile", "type")
	case "seLinuxOptions":
		if o := sc.SELinuxOptions; o != nil && (o.User != "" || o.Role != "" || !allowedSELinuxTypes[o.Type]) {
			return c.Child("seLinuxOptions")
		}
		return pod.Child("seLinuxOptions")
	case "sysctls":
		return pod.Child("sysctls")
	case "windowsHostProcess":
		if sc.WindowsOptions != nil && sc.WindowsOptions.HostProcess != nil && *sc.WindowsOptions.HostProcess {
			return c.Child("windowsOptions", "hostProcess")
		}
		return pod.Child("windowsOptions", "hostProcess")
	case "hostPathVolumes", "restrictedVolumes":
		return paths.Volumes
	}
	return paths.Pod
}

// allowedSELinuxTypes are the SELinux types baseline allows, for
// podSecurityPath only: PodSecurity's check decides.
var allowedSELinuxTypes = map[string]bool{"": true, "container_t": true, "container_init_t": true, "container_kvm_t": true, "container_engine_t": true}

// podSecurityFix says how to meet a check, after the violation.
func podSecurityFix(id psapolicy.CheckID) string {
	switch id {
	case "privileged":
		return "remove privileged"
	case "capabilities_baseline":
		return "add only capabilities the baseline level allows (such as CHOWN, KILL or NET_BIND_SERVICE)"
	case "capabilities_restricted":
		return `drop ["ALL"] and add at most NET_BIND_SERVICE`
	case "allowPrivilegeEscalation":
		return "set allowPrivilegeEscalation: false"
	case "procMount", "procMount_restricted":
		return "remove procMount"
	case "runAsNonRoot":
		return "set runAsNonRoot: true (and a non-zero runAsUser if the image runs as root)"
	case "runAsUser":
		return "set a non-zero runAsUser"
	case "seccompProfile_baseline":
		return "use type RuntimeDefault or Localhost"
	case "seccompProfile_restricted":
		return "set type RuntimeDefault or Localhost"
	case "appArmorProfile":
		return "use type RuntimeDefault or Localhost"
	case "seLinuxOptions":
		return "remove user and role, and use a type such as container_t"
	case "sysctls":
		return "set only sysctls the baseline level allows (such as net.ipv4.ip_unprivileged_port_start)"
	case "windowsHostProcess":
		return "remove hostProcess"
	case "hostPathVolumes", "restrictedVolumes":
		return "use only configMap, secret, emptyDir, projected, downwardAPI, csi, ephemeral or persistentVolumeClaim volumes"
	}
	return "remove the setting"
}

func validatePodSecurity(t *TaskPolicy, fldPath *field.Path) field.ErrorList {
	errs := validateEnum(t.PodSecurity, supportedPodSecurity, fldPath.Child("podSecurity"))
	if t.AllowPrivileged && t.PodSecurity != "" && t.PodSecurity != PodSecurityPrivileged {
		errs = append(errs, field.Invalid(fldPath.Child("allowPrivileged"), true, fmt.Sprintf(
			"is a deprecated alias of podSecurity: privileged and conflicts with podSecurity: %s; remove allowPrivileged", t.PodSecurity)))
	}
	return errs
}
