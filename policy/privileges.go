package policy

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Settings that give a Task's pod power over its node.
const (
	SettingPrivileged  = "privileged"
	SettingHostPath    = "hostPath"
	SettingHostNetwork = "hostNetwork"
	SettingHostPID     = "hostPID"
)

// PrivilegedUse is one place a pod asks for power over its node.
type PrivilegedUse struct {
	// Path is where the setting is, for the error.
	Path *field.Path
	// Setting is one of the Setting* constants.
	Setting string
}

// SecurityContextUses finds privileged: true in a container security
// context at fldPath, such as an App's spec.securityContext.
func SecurityContextUses(sc *corev1.SecurityContext, fldPath *field.Path) []PrivilegedUse {
	if sc != nil && sc.Privileged != nil && *sc.Privileged {
		return []PrivilegedUse{{Path: fldPath.Child("privileged"), Setting: SettingPrivileged}}
	}
	return nil
}

// PodPrivilegedUses finds every privileged container, hostPath volume,
// hostNetwork and hostPID in a pod spec at fldPath, such as a Job's
// spec.template.spec.
func PodPrivilegedUses(spec *corev1.PodSpec, fldPath *field.Path) []PrivilegedUse {
	var uses []PrivilegedUse
	if spec.HostNetwork {
		uses = append(uses, PrivilegedUse{Path: fldPath.Child("hostNetwork"), Setting: SettingHostNetwork})
	}
	if spec.HostPID {
		uses = append(uses, PrivilegedUse{Path: fldPath.Child("hostPID"), Setting: SettingHostPID})
	}
	uses = append(uses, VolumeUses(spec.Volumes, fldPath.Child("volumes"))...)
	for i, c := range spec.InitContainers {
		uses = append(uses, SecurityContextUses(c.SecurityContext, fldPath.Child("initContainers").Index(i).Child("securityContext"))...)
	}
	for i, c := range spec.Containers {
		uses = append(uses, SecurityContextUses(c.SecurityContext, fldPath.Child("containers").Index(i).Child("securityContext"))...)
	}
	return uses
}

// VolumeUses finds every hostPath volume in volumes at fldPath.
func VolumeUses(volumes []corev1.Volume, fldPath *field.Path) []PrivilegedUse {
	var uses []PrivilegedUse
	for i, v := range volumes {
		if v.HostPath != nil {
			uses = append(uses, PrivilegedUse{Path: fldPath.Index(i).Child("hostPath"), Setting: SettingHostPath})
		}
	}
	return uses
}

// ValidatePrivileges forbids every use unless tasks.podSecurity is
// privileged (or tasks.allowPrivileged, its deprecated alias, is true). In
// audit mode errors come back as warnings.
func (p *Policy) ValidatePrivileges(uses []PrivilegedUse) (field.ErrorList, []string) {
	if p.privilegedAllowed() {
		return nil, nil
	}
	fs := make([]finding, len(uses))
	for i, u := range uses {
		fs[i] = finding{
			err: field.Forbidden(u.Path, fmt.Sprintf(
				"%s is not allowed for Tasks by cluster policy tasks.allowPrivileged; remove it or ask a cluster admin", u.Setting)),
			short: fmt.Sprintf("%s: %s (tasks.allowPrivileged: false)", u.Path, u.Setting),
		}
	}
	return p.verdict(fs)
}
