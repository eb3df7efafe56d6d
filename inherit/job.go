package inherit

import (
	"reflect"
	"slices"
	"strconv"

	"gomodules.xyz/jsonpatch/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/taskgate/taskgate/api/v1alpha1"
	"github.com/taskgate/taskgate/patch"
)

// JobInjection returns the JSON-patch (RFC 6902) operations that give the
// pod template of a batch/v1 Job labelled taskgate.dev/app=<App> its App's
// configuration: env (with SERVICE_BINDING_ROOT and VCAP_SERVICES), envFrom,
// binding volumes and mounts, resources, and the app and security-group
// labels. basePath is the JSON pointer of tmpl in the object, without a
// trailing slash: "/spec/template" for a Job,
// "/spec/jobTemplate/spec/template" for a CronJob.
//
// Nothing the Job sets is overridden. An env var, a volume, a mount (by
// volume name or by path) or a label the template already has is kept. A
// resource the container sets as a request or a limit is kept whole, so
// an injected limit never falls below the Job's own request. The App's
// envFrom goes before the Job's, because a later source wins. A Job's
// volume that has a binding's name but is not that binding's projection is
// kept and not mounted as the binding. Env that the Job gets through its
// own envFrom cannot be seen here, and the App's env wins over it.
//
// Every container in spec.containers gets the injection, sidecars listed
// there included. Init containers (and native sidecars, which are init
// containers) do not: they are setup steps or helpers with their own
// images, and the App's resources on them would raise the pod's effective
// request, which is at least its largest init container's.
//
// The operations are all "add", each for a field that is absent, so
// running JobInjection on the patched template returns none, including
// after the API server has defaulted it. Nothing of the Job is
// re-marshalled: values are only what is added. A template without
// containers gets nothing; the Job is invalid anyway.
//
// The service account, image pull Secrets and security contexts are not
// injected: the Job chooses its own image and identity.
func JobInjection(app *v1alpha1.App, tmpl *corev1.PodTemplateSpec, basePath string) []jsonpatch.JsonPatchOperation {
	spec := &tmpl.Spec
	if len(spec.Containers) == 0 {
		return nil
	}
	pod := AppPod(app)
	ops := labelOps(&tmpl.ObjectMeta, pod.Labels, basePath+"/metadata")

	// A binding is mounted only if its volume is, or will be, the binding's.
	mountable := map[string]bool{}
	var volumes []corev1.Volume
	for _, v := range pod.Volumes {
		switch i := slices.IndexFunc(spec.Volumes, func(have corev1.Volume) bool { return have.Name == v.Name }); {
		case i < 0:
			volumes = append(volumes, v)
			mountable[v.Name] = true
		case sameSecrets(spec.Volumes[i].Projected, v.Projected):
			mountable[v.Name] = true
		}
	}
	ops = append(ops, appendOps(spec.Volumes != nil, basePath+"/spec/volumes", volumes)...)

	for i := range spec.Containers {
		c := &spec.Containers[i]
		path := basePath + "/spec/containers/" + strconv.Itoa(i)

		var env []corev1.EnvVar
		for _, v := range pod.Env {
			if envIndex(c.Env, v.Name) < 0 && envIndex(env, v.Name) < 0 {
				env = append(env, v)
			}
		}
		ops = append(ops, appendOps(c.Env != nil, path+"/env", env)...)

		var envFrom []corev1.EnvFromSource
		for _, s := range pod.EnvFrom {
			if !slices.ContainsFunc(c.EnvFrom, sameSource(s)) && !slices.ContainsFunc(envFrom, sameSource(s)) {
				envFrom = append(envFrom, s)
			}
		}
		ops = append(ops, prependOps(c.EnvFrom != nil, path+"/envFrom", envFrom)...)

		var mounts []corev1.VolumeMount
		for _, m := range pod.VolumeMounts {
			if mountable[m.Name] && !slices.ContainsFunc(c.VolumeMounts, func(have corev1.VolumeMount) bool {
				return have.Name == m.Name || have.MountPath == m.MountPath
			}) {
				mounts = append(mounts, m)
			}
		}
		ops = append(ops, appendOps(c.VolumeMounts != nil, path+"/volumeMounts", mounts)...)

		ops = append(ops, resourceOps(&c.Resources, &pod.Resources, path+"/resources")...)
	}
	return ops
}

// sameSecrets reports whether a Job's projected volume projects the
// Secrets of the binding's, in order: it is the binding's volume, as added
// before and then defaulted by the API server.
func sameSecrets(have, want *corev1.ProjectedVolumeSource) bool {
	if have == nil || want == nil || len(have.Sources) != len(want.Sources) {
		return false
	}
	for i := range want.Sources {
		h, w := have.Sources[i].Secret, want.Sources[i].Secret
		if h == nil || w == nil || h.Name != w.Name {
			return false
		}
	}
	return true
}

// labelOps adds the labels meta lacks. Metadata that decoded to all zero
// values may be absent from the JSON, so it is added whole: there was
// nothing in it to lose.
func labelOps(meta *metav1.ObjectMeta, want map[string]string, path string) []jsonpatch.JsonPatchOperation {
	add := map[string]string{}
	for k, v := range want {
		if _, ok := meta.Labels[k]; !ok {
			add[k] = v
		}
	}
	switch {
	case len(add) == 0:
		return nil
	case reflect.ValueOf(*meta).IsZero():
		return []jsonpatch.JsonPatchOperation{jsonpatch.NewOperation("add", path, map[string]any{"labels": add})}
	}
	return patch.AddToMap(meta.Labels != nil, path+"/labels", add)
}

// resourceOps adds the App's request and limit of each resource the
// container sets neither of. Resources that decoded to all zero values may
// be absent from the JSON, so they are added whole.
func resourceOps(have, want *corev1.ResourceRequirements, path string) []jsonpatch.JsonPatchOperation {
	requests, limits := corev1.ResourceList{}, corev1.ResourceList{}
	for _, l := range []corev1.ResourceList{want.Requests, want.Limits} {
		for name := range l {
			if _, ok := have.Requests[name]; ok {
				continue
			}
			if _, ok := have.Limits[name]; ok {
				continue
			}
			if q, ok := want.Requests[name]; ok {
				requests[name] = q
			}
			if q, ok := want.Limits[name]; ok {
				limits[name] = q
			}
		}
	}
	if len(requests) == 0 && len(limits) == 0 {
		return nil
	}
	if reflect.ValueOf(*have).IsZero() {
		whole := map[string]corev1.ResourceList{}
		if len(requests) > 0 {
			whole["requests"] = requests
		}
		if len(limits) > 0 {
			whole["limits"] = limits
		}
		return []jsonpatch.JsonPatchOperation{jsonpatch.NewOperation("add", path, whole)}
	}
	return append(patch.AddToMap(have.Requests != nil, path+"/requests", requests),
		patch.AddToMap(have.Limits != nil, path+"/limits", limits)...)
}

// appendOps appends items to the JSON array at path, creating it when it
// does not exist (or is null).
func appendOps[T any](exists bool, path string, items []T) []jsonpatch.JsonPatchOperation {
	return insertOps(exists, path, items, func(int) string { return "-" })
}

// prependOps inserts items, in order, at the start of the JSON array at
// path, creating it when it does not exist (or is null).
func prependOps[T any](exists bool, path string, items []T) []jsonpatch.JsonPatchOperation {
	return insertOps(exists, path, items, strconv.Itoa)
}

// insertOps adds each of items to the JSON array at path, the i-th at
// the index at(i) gives ("-" appends), or adds the array with items when
// it does not exist.
func insertOps[T any](exists bool, path string, items []T, at func(int) string) []jsonpatch.JsonPatchOperation {
	if len(items) == 0 {
		return nil
	}
	if !exists {
		return []jsonpatch.JsonPatchOperation{jsonpatch.NewOperation("add", path, items)}
	}
	ops := make([]jsonpatch.JsonPatchOperation, len(items))
	for i, it := range items {
		ops[i] = jsonpatch.NewOperation("add", path+"/"+at(i), it)
	}
	return ops
}

// sameSource matches envFrom entries that read the same ConfigMap or
// Secret with the same prefix; optional does not make them different.
func sameSource(s corev1.EnvFromSource) func(corev1.EnvFromSource) bool {
	return func(o corev1.EnvFromSource) bool {
		return o.Prefix == s.Prefix &&
			(o.ConfigMapRef == nil) == (s.ConfigMapRef == nil) &&
			(o.SecretRef == nil) == (s.SecretRef == nil) &&
			(o.ConfigMapRef == nil || o.ConfigMapRef.Name == s.ConfigMapRef.Name) &&
			(o.SecretRef == nil || o.SecretRef.Name == s.SecretRef.Name)
	}
}
