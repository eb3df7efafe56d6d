package inherit

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/taskgate/taskgate/api/v1alpha1"
	"github.com/taskgate/taskgate/binding"
)

// Service bindings follow the servicebinding.io convention: the keys of each
// binding's Secret are files in BindingRoot/<binding name>, and
// SERVICE_BINDING_ROOT tells the app where to look.
const (
	// BindingRoot is the directory that holds one directory per binding.
	BindingRoot = "/bindings"
	// EnvServiceBindingRoot is set to BindingRoot when an App has bindings.
	EnvServiceBindingRoot = "SERVICE_BINDING_ROOT"
	// BindingVolumePrefix prefixes the name of each binding's volume.
	BindingVolumePrefix = "binding-"
)

// Cloud Foundry apps read their bindings from VCAP_SERVICES. Its value is a
// JSON document built from the bindings' credentials, which the reconciler
// keeps in a per-App Secret; pods refer to it and never carry the value.
const (
	// EnvVCAPServices is the environment variable Cloud Foundry apps read.
	EnvVCAPServices = "VCAP_SERVICES"
	// VCAPServicesKey is the key of the per-App Secret named by
	// VCAPSecretName that holds the VCAP_SERVICES document.
	VCAPServicesKey = "VCAP_SERVICES"
	// VCAPSecretSuffix ends the name of every per-App VCAP_SERVICES Secret.
	VCAPSecretSuffix = "-vcap-services"
)

// hashLen is how many hex digits of a SHA-256 stand in for the cut part of
// a name that is too long: 40 bits, so distinct long names do not collide
// in practice.
const hashLen = 10

// PodConfig is what every pod of an App gets, whether a Task runs it or a
// labelled Job does. Every slice, map and pointer is a copy: callers may
// modify it.
type PodConfig struct {
	// Env is the App's env in order, then SERVICE_BINDING_ROOT and
	// VCAP_SERVICES when the App has bindings, unless the App's own env
	// already names them: what the App's author wrote wins.
	Env []corev1.EnvVar
	// EnvFrom is the App's envFrom.
	EnvFrom []corev1.EnvFromSource
	// Volumes has one projected volume per service binding: its Secret's
	// keys and its type and provider files.
	Volumes []corev1.Volume
	// VolumeMounts mount each binding's volume read-only at
	// BindingRoot/<binding name>.
	VolumeMounts []corev1.VolumeMount
	// Labels are taskgate.dev/app and one taskgate.dev/sg-<group>: "true"
	// per security group, for NetworkPolicies to select.
	Labels map[string]string
	// Resources are the App's requests and limits, without policy
	// defaults: those are for Tasks only.
	Resources corev1.ResourceRequirements
	// ServiceAccountName is the App's ServiceAccount; empty for the
	// namespace default.
	ServiceAccountName string
	// ImagePullSecrets are the App's image pull Secrets.
	ImagePullSecrets []corev1.LocalObjectReference
	// PodSecurityContext is the App's, nil when it sets none.
	PodSecurityContext *corev1.PodSecurityContext
	// SecurityContext is the App's, nil when it sets none.
	SecurityContext *corev1.SecurityContext
}

// AppPod returns the App's contribution to any pod that runs its code.
// Bindings with a name seen before are skipped: the API keeps names unique,
// and a second volume of one name would make the pod invalid.
func AppPod(app *v1alpha1.App) PodConfig {
	spec := &app.Spec
	pc := PodConfig{
		Env:                copyEnv(spec.Env),
		Labels:             map[string]string{v1alpha1.LabelApp: app.Name},
		Resources:          *spec.Resources.DeepCopy(),
		ServiceAccountName: spec.ServiceAccountName,
		PodSecurityContext: spec.PodSecurityContext.DeepCopy(),
		SecurityContext:    spec.SecurityContext.DeepCopy(),
	}
	for i := range spec.EnvFrom {
		pc.EnvFrom = append(pc.EnvFrom, *spec.EnvFrom[i].DeepCopy())
	}
	if spec.ImagePullSecrets != nil {
		pc.ImagePullSecrets = append([]corev1.LocalObjectReference{}, spec.ImagePullSecrets...)
	}
	for _, sg := range spec.SecurityGroups {
		pc.Labels[v1alpha1.LabelSecurityGroupPrefix+sg] = "true"
	}

	seen := map[string]bool{}
	for _, b := range spec.ServiceBindings {
		if seen[b.Name] {
			continue
		}
		seen[b.Name] = true
		volume := BindingVolumeName(b.Name)
		pc.Volumes = append(pc.Volumes, corev1.Volume{
			Name:         volume,
			VolumeSource: corev1.VolumeSource{Projected: bindingProjection(app.Name, b)},
		})
		pc.VolumeMounts = append(pc.VolumeMounts, corev1.VolumeMount{
			Name:      volume,
			ReadOnly:  true,
			MountPath: BindingRoot + "/" + b.Name,
		})
	}
	if len(seen) > 0 {
		pc.Env = appendIfAbsent(pc.Env, corev1.EnvVar{Name: EnvServiceBindingRoot, Value: BindingRoot})
		pc.Env = appendIfAbsent(pc.Env, vcapServicesEnv(app.Name))
	}
	return pc
}

// bindingProjection is a binding's volume: every key of its Secret, then
// its type and provider files from the App's VCAP_SERVICES Secret, where
// the reconciler writes them as resolved (binding.Type, binding.Provider).
// A Secret volume shows only the Secret's own keys, so it cannot add a type
// the Secret lacks; a projected volume joins two Secrets into one
// directory, and a later source wins a path, so the resolved type, which
// is the Secret's own type key when it has one, is the file. The second
// source is optional, so a pod still starts before the reconciler has
// written it (then without the files, as without VCAP_SERVICES), and a
// missing provider key leaves no provider file. Only those two items are
// projected: the pod sees no other binding's credentials.
func bindingProjection(appName string, b v1alpha1.ServiceBinding) *corev1.ProjectedVolumeSource {
	return &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{
		{Secret: &corev1.SecretProjection{LocalObjectReference: corev1.LocalObjectReference{Name: b.SecretName}}},
		{Secret: &corev1.SecretProjection{
			LocalObjectReference: corev1.LocalObjectReference{Name: VCAPSecretName(appName)},
			Items: []corev1.KeyToPath{
				{Key: binding.TypeKey(b.Name), Path: binding.KeyType},
				{Key: binding.ProviderKey(b.Name), Path: binding.KeyProvider},
			},
			Optional: new(true),
		}},
	}}
}

// vcapServicesEnv refers to the per-App Secret. The API does not mark
// which Apps are Cloud Foundry apps, so every App with bindings gets it.
// It is optional so that a pod still starts before the reconciler has
// written the Secret, and costs nothing to apps that never read it.
func vcapServicesEnv(appName string) corev1.EnvVar {
	return corev1.EnvVar{
		Name: EnvVCAPServices,
		ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: VCAPSecretName(appName)},
			Key:                  VCAPServicesKey,
			Optional:             new(true),
		}},
	}
}

// VCAPSecretName is the name of the Secret, in the App's namespace, that
// holds the App's VCAP_SERVICES: <app>-vcap-services. An App name too long
// for that to be a valid Secret name (253 characters) is cut and ended with
// a hash of the whole name, so the result stays valid, stable and distinct.
func VCAPSecretName(appName string) string {
	if name := appName + VCAPSecretSuffix; len(name) <= validation.DNS1123SubdomainMaxLength {
		return name
	}
	return shorten(appName, validation.DNS1123SubdomainMaxLength-len(VCAPSecretSuffix)) + VCAPSecretSuffix
}

// BindingVolumeName is the name of a binding's volume: binding-<name>.
// Volume names are DNS labels of at most 63 characters while binding names
// may have 63, so a longer result is cut and ended with a hash of the
// binding's name.
func BindingVolumeName(binding string) string {
	if name := BindingVolumePrefix + binding; len(name) <= validation.DNS1123LabelMaxLength {
		return name
	}
	return BindingVolumePrefix + shorten(binding, validation.DNS1123LabelMaxLength-len(BindingVolumePrefix))
}

// shorten returns s cut to at most maxLen bytes and ended with "-" and a
// hash of all of s. The cut drops a trailing '-' or '.', which may not
// precede the hash in a DNS name.
func shorten(s string, maxLen int) string {
	sum := sha256.Sum256([]byte(s))
	h := hex.EncodeToString(sum[:])[:hashLen]
	keep := s
	if n := maxLen - hashLen - 1; len(keep) > n {
		keep = keep[:n]
	}
	return strings.TrimRight(keep, "-.") + "-" + h
}

func copyEnv(env []corev1.EnvVar) []corev1.EnvVar {
	if env == nil {
		return nil
	}
	out := make([]corev1.EnvVar, len(env))
	for i := range env {
		env[i].DeepCopyInto(&out[i])
	}
	return out
}

// appendIfAbsent appends v unless env already has a variable of its name.
func appendIfAbsent(env []corev1.EnvVar, v corev1.EnvVar) []corev1.EnvVar {
	if envIndex(env, v.Name) >= 0 {
		return env
	}
	return append(env, v)
}

func envIndex(env []corev1.EnvVar, name string) int {
	for i := range env {
		if env[i].Name == name {
			return i
		}
	}
	return -1
}

// mergeEnv returns base with over applied: an entry of over replaces the
// first entry of base of the same name in place, keeping base's order, and
// the others are appended in over's order.
func mergeEnv(base, over []corev1.EnvVar) []corev1.EnvVar {
	out := copyEnv(base)
	for _, v := range copyEnv(over) {
		if i := envIndex(out, v.Name); i >= 0 {
			out[i] = v
			continue
		}
		out = append(out, v)
	}
	return out
}
