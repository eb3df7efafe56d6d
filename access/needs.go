package access

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/taskgate/taskgate/api/v1alpha1"
	"github.com/taskgate/taskgate/inherit"
)

// Verbs and resources the needs name, as RBAC rules spell them.
const (
	VerbGet    = "get"
	VerbCreate = "create"

	ResourcePods       = "pods"
	ResourceSecrets    = "secrets"
	ResourceConfigMaps = "configmaps"
)

// Need is one permission that a request needs, and the field of the
// object that causes it.
type Need struct {
	// Field is the field that causes the need, for the error.
	Field *field.Path
	// Group is the resource's API group: "" (core) unless set.
	Group string
	// Verb, Resource, Namespace and Name are the request's attributes as
	// RBAC sees them; Name is empty for create.
	Verb      string
	Resource  string
	Namespace string
	Name      string
	// Why says why the field needs the permission, and Fix what the
	// requester can do instead, for the error.
	Why string
	Fix string
}

// Permission says the permission in RBAC's words, for example
// `get secret "db-creds" in namespace "shop"` or `create pods in namespace
// "shop"`.
func (n Need) Permission() string {
	if n.Name == "" {
		resource := n.Resource
		if n.Group != "" {
			resource += "." + n.Group
		}
		return fmt.Sprintf("%s %s in namespace %q", n.Verb, resource, n.Namespace)
	}
	return fmt.Sprintf("%s %s %q in namespace %q", n.Verb, singular(n.Resource), n.Name, n.Namespace)
}

// workloadResource is the API group and resource of a kind of workload
// an App's spec.from names.
func workloadResource(kind string) (group, resource string) {
	switch kind {
	case v1alpha1.WorkloadCronJob:
		return "batch", "cronjobs"
	case v1alpha1.WorkloadStatefulSet:
		return "apps", "statefulsets"
	case v1alpha1.WorkloadDaemonSet:
		return "apps", "daemonsets"
	}
	return "apps", "deployments"
}

func singular(resource string) string {
	switch resource {
	case "deployments", "statefulsets", "daemonsets", "cronjobs":
		return strings.TrimSuffix(resource, "s")
	case ResourceSecrets:
		return "secret"
	case ResourceConfigMaps:
		return "configmap"
	case ResourcePods:
		return "pod"
	}
	return resource
}

var specPath = field.NewPath("spec")

const (
	whyPods = "an App is the template of its Tasks' pods (image, ServiceAccount, env and Secrets), " +
		"so writing one needs create on pods"
	fixPods    = "ask for that permission"
	whyBinding = "binding a Secret needs get on it"
	fixBinding = "ask for that permission or bind a Secret you can read"
	whyFrom    = "an App from a workload runs a copy of its container, so it needs get on the workload"
	fixFrom    = "ask for that permission or name a workload you can read"
	whyEnv     = "a Task's env may read only what its App already gives its pods, or what you may get yourself"
	fixEnv     = "ask for that permission, or have the App's env or envFrom reference it"
)

// AppNeeds returns what writing an App needs: create on pods in its
// namespace, get on the workload its spec.from names (whose container its
// Tasks run, as anyone who may read it and create pods could copy it into
// a pod), and get on each Secret its serviceBindings name. Everything
// else an App references (ServiceAccount, envFrom, env, imagePullSecrets)
// is what a pod creator can already use in its own namespace.
func AppNeeds(app *v1alpha1.App) []Need {
	needs := []Need{{
		Field: specPath, Verb: VerbCreate, Resource: ResourcePods, Namespace: app.Namespace,
		Why: whyPods, Fix: fixPods,
	}}
	if from := app.Spec.From; from != nil {
		group, resource := workloadResource(from.Kind)
		needs = append(needs, Need{
			Field: specPath.Child("from"), Group: group, Verb: VerbGet, Resource: resource,
			Namespace: app.Namespace, Name: from.Name, Why: whyFrom, Fix: fixFrom,
		})
	}
	bindings := specPath.Child("serviceBindings")
	for i, b := range app.Spec.ServiceBindings {
		needs = append(needs, Need{
			Field: bindings.Index(i).Child("secretName"), Verb: VerbGet, Resource: ResourceSecrets,
			Namespace: app.Namespace, Name: b.SecretName, Why: whyBinding, Fix: fixBinding,
		})
	}
	return needs
}

// source is a Secret or ConfigMap key a pod reads; an empty key stands for
// all of its keys.
type source struct {
	resource, name, key string
}

// TaskNeeds returns what creating a Task of app needs: get on each Secret
// or ConfigMap key its spec.env reads through valueFrom that the App's
// pods are not already given (by env, envFrom or a binding's volume).
// fieldRef and resourceFieldRef read the pod itself and need nothing.
func TaskNeeds(task *v1alpha1.Task, app *v1alpha1.App) []Need {
	return taskNeedsAt(task, app, specPath)
}

// taskNeedsAt is TaskNeeds with the Task's spec at the field spec.
func taskNeedsAt(task *v1alpha1.Task, app *v1alpha1.App, spec *field.Path) []Need {
	given := appSources(app)
	var needs []Need
	env := spec.Child("env")
	for i, e := range task.Spec.Env {
		if e.ValueFrom == nil {
			continue
		}
		from := env.Index(i).Child("valueFrom")
		var s source
		var path *field.Path
		switch ref := e.ValueFrom; {
		case ref.SecretKeyRef != nil:
			s, path = source{ResourceSecrets, ref.SecretKeyRef.Name, ref.SecretKeyRef.Key}, from.Child("secretKeyRef", "name")
		case ref.ConfigMapKeyRef != nil:
			s, path = source{ResourceConfigMaps, ref.ConfigMapKeyRef.Name, ref.ConfigMapKeyRef.Key}, from.Child("configMapKeyRef", "name")
		default:
			continue
		}
		if given[s] || given[source{s.resource, s.name, ""}] {
			continue
		}
		needs = append(needs, Need{
			Field: path, Verb: VerbGet, Resource: s.resource, Namespace: task.Namespace, Name: s.name,
			Why: whyEnv, Fix: fixEnv,
		})
	}
	return needs
}

// appSources lists what every pod of the App reads, from the same
// inherit.AppPod the Task's pod is resolved from, so VCAP_SERVICES and
// bindings count as given.
func appSources(app *v1alpha1.App) map[source]bool {
	pod := inherit.AppPod(app)
	given := map[source]bool{}
	for _, e := range pod.Env {
		switch {
		case e.ValueFrom == nil:
		case e.ValueFrom.SecretKeyRef != nil:
			given[source{ResourceSecrets, e.ValueFrom.SecretKeyRef.Name, e.ValueFrom.SecretKeyRef.Key}] = true
		case e.ValueFrom.ConfigMapKeyRef != nil:
			given[source{ResourceConfigMaps, e.ValueFrom.ConfigMapKeyRef.Name, e.ValueFrom.ConfigMapKeyRef.Key}] = true
		}
	}
	for _, f := range pod.EnvFrom {
		// envFrom puts every key of the source in the environment.
		switch {
		case f.SecretRef != nil:
			given[source{ResourceSecrets, f.SecretRef.Name, ""}] = true
		case f.ConfigMapRef != nil:
			given[source{ResourceConfigMaps, f.ConfigMapRef.Name, ""}] = true
		}
	}
	for _, v := range pod.Volumes {
		if v.Projected == nil {
			continue
		}
		// A binding's volume projects all of its Secret, and chosen keys
		// of the App's VCAP_SERVICES Secret.
		for _, p := range v.Projected.Sources {
			if p.Secret == nil {
				continue
			}
			if len(p.Secret.Items) == 0 {
				given[source{ResourceSecrets, p.Secret.Name, ""}] = true
			}
			for _, item := range p.Secret.Items {
				given[source{ResourceSecrets, p.Secret.Name, item.Key}] = true
			}
		}
	}
	return given
}
