package inherit

import (
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/taskgate/taskgate/api/v1alpha1"
	"github.com/taskgate/taskgate/policy"
	"github.com/taskgate/taskgate/workload"
)

var fromPath = specPath.Child("from")

// WithWorkload returns a copy of app as its Tasks see it when its
// spec.from names w: each of image (pinned), command, args, workingDir,
// resources (by resource), ServiceAccount and security contexts that the
// App leaves unset is the container's; env is the container's with the
// App's entries replacing those of the same name; envFrom is the
// workload's, then the App's; pull Secrets the App's, then the workload's
// the App does not name. A security context the template leaves empty
// ({}, as the API server stores an unset one) counts as unset, so the
// hardened defaults apply. With w nil, app is returned as it is.
// The workload's volumes are not App fields: resolving a Task adds them
// (WorkloadVolumes).
func WithWorkload(app *v1alpha1.App, w *workload.Container) *v1alpha1.App {
	if w == nil {
		return app
	}
	out := app.DeepCopy()
	spec, c := &out.Spec, w.Container.DeepCopy()
	if spec.Image == "" {
		spec.Image = w.Image
	}
	if spec.Command == nil {
		spec.Command = c.Command
	}
	if spec.Args == nil {
		spec.Args = c.Args
	}
	if spec.WorkingDir == "" {
		spec.WorkingDir = c.WorkingDir
	}
	spec.Env = mergeEnv(c.Env, spec.Env)
	spec.EnvFrom = append(c.EnvFrom, spec.EnvFrom...)
	spec.Resources = mergeResources(c.Resources, spec.Resources)
	if spec.ServiceAccountName == "" {
		spec.ServiceAccountName = w.Pod.ServiceAccountName
	}
	for _, s := range w.Pod.ImagePullSecrets {
		if !slices.Contains(spec.ImagePullSecrets, s) {
			spec.ImagePullSecrets = append(spec.ImagePullSecrets, s)
		}
	}
	if spec.PodSecurityContext == nil && !equality.Semantic.DeepEqual(w.Pod.SecurityContext, &corev1.PodSecurityContext{}) {
		spec.PodSecurityContext = w.Pod.SecurityContext.DeepCopy()
	}
	if spec.SecurityContext == nil && !equality.Semantic.DeepEqual(c.SecurityContext, &corev1.SecurityContext{}) {
		spec.SecurityContext = c.SecurityContext
	}
	return out
}

// mergeResources is base with each request and limit that over sets
// replacing base's.
func mergeResources(base, over corev1.ResourceRequirements) corev1.ResourceRequirements {
	out := *base.DeepCopy()
	for _, m := range []struct {
		to   *corev1.ResourceList
		from corev1.ResourceList
	}{
		{&out.Requests, over.Requests}, {&out.Limits, over.Limits},
	} {
		for k, q := range m.from {
			if *m.to == nil {
				*m.to = corev1.ResourceList{}
			}
			(*m.to)[k] = q.DeepCopy()
		}
	}
	out.Claims = append(out.Claims, over.Claims...)
	return out
}

// workloadVolumeKinds are the volumes a Task takes from its workload:
// those that give the container its configuration and scratch space, and
// nothing a Task would share with the running app.
const workloadVolumeKinds = "secret, configMap, projected, downwardAPI and emptyDir"

// WorkloadVolumes returns the volumes the container mounts and its
// mounts of them, and an error at spec.from for each it may not take:
// a persistentVolumeClaim unless policy
// tasks.fromWorkloads.allowPersistentVolumeClaims allows it (a Task must
// not fight the app for a ReadWriteOnce volume), and any other kind
// (hostPath, an ephemeral claim, a CSI driver's), and raw block devices.
// Volumes only other containers mount are left out, so a sidecar's claim
// does not stop a Task.
func WorkloadVolumes(w *workload.Container, p *policy.Policy) ([]corev1.Volume, []corev1.VolumeMount, field.ErrorList) {
	if w == nil {
		return nil, nil, nil
	}
	var (
		volumes []corev1.Volume
		mounts  []corev1.VolumeMount
		errs    field.ErrorList
	)
	c := &w.Container
	if len(c.VolumeDevices) > 0 {
		errs = append(errs, field.Forbidden(fromPath.Child("container"), fmt.Sprintf(
			"%s's container %s uses raw block devices (volumeDevices), which a Task does not take; set spec.from.container to another container, or describe the App without spec.from",
			w, c.Name)))
	}
	for _, m := range c.VolumeMounts {
		i := slices.IndexFunc(w.Pod.Volumes, func(v corev1.Volume) bool { return v.Name == m.Name })
		if i < 0 {
			continue // the API server refuses such a template; nothing to mount
		}
		v := w.Pod.Volumes[i]
		if why := refusedVolume(&v, p); why != "" {
			errs = append(errs, field.Forbidden(fromPath, fmt.Sprintf(
				"%s's container %s mounts volume %s, %s; remove the mount from the container, set spec.from.container to one that does not mount it, or describe the App without spec.from",
				w, c.Name, v.Name, why)))
			continue
		}
		if !slices.ContainsFunc(volumes, func(o corev1.Volume) bool { return o.Name == v.Name }) {
			volumes = append(volumes, *v.DeepCopy())
		}
		mounts = append(mounts, *m.DeepCopy())
	}
	return volumes, mounts, errs
}

// refusedVolume says why a Task may not mount v, or "" when it may.
func refusedVolume(v *corev1.Volume, p *policy.Policy) string {
	s := &v.VolumeSource
	switch {
	case s.Secret != nil, s.ConfigMap != nil, s.Projected != nil, s.DownwardAPI != nil, s.EmptyDir != nil:
		return ""
	case s.PersistentVolumeClaim != nil:
		if p.Tasks.FromWorkloads.AllowPersistentVolumeClaims {
			return ""
		}
		return fmt.Sprintf("claim %s: a Task would share it with the running app, and a ReadWriteOnce volume keeps one of them from starting "+
			"(cluster policy tasks.fromWorkloads.allowPersistentVolumeClaims is false)", s.PersistentVolumeClaim.ClaimName)
	}
	return "a kind of volume a Task does not take from a workload (it takes " + workloadVolumeKinds + ")"
}

// validateVolumeNames refuses a workload volume whose name is a
// service binding's volume's, which would make the pod invalid.
func validateVolumeNames(app *v1alpha1.App, volumes []corev1.Volume) field.ErrorList {
	var errs field.ErrorList
	for _, b := range app.Spec.ServiceBindings {
		name := BindingVolumeName(b.Name)
		if slices.ContainsFunc(volumes, func(v corev1.Volume) bool { return v.Name == name }) {
			errs = append(errs, field.Invalid(specPath.Child("serviceBindings"), b.Name, fmt.Sprintf(
				"the binding's volume %s has the name of a volume the workload's container mounts; rename the binding or the workload's volume", name)))
		}
	}
	return errs
}
