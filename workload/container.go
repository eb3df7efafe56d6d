package workload

import (
	"fmt"
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/taskgate/taskgate/api/v1alpha1"
)

// DefaultContainerAnnotation names the container kubectl exec, logs and
// attach choose in a pod that has several; a pod template carries it to
// its pods.
const DefaultContainerAnnotation = "kubectl.kubernetes.io/default-container"

// Container is the container of a workload an App's spec.from names, as
// read when a Task is created. Every field is a copy.
type Container struct {
	// Ref is the App's spec.from, with Container filled in with the name
	// of the container chosen.
	Ref v1alpha1.WorkloadRef
	// Pod is the pod template's spec: its volumes, ServiceAccount, pod
	// security context and pull Secrets.
	Pod corev1.PodSpec
	// Container is the chosen container.
	Container corev1.Container
	// Image is Container.Image pinned to the digest a pod of the workload
	// that runs that image reports, or Container.Image when none does.
	Image string
	// Pinned is true when Image names a digest the workload's pods run.
	Pinned bool
}

// DeepCopy returns a copy of c that shares nothing with it.
func (c *Container) DeepCopy() *Container {
	out := *c
	c.Pod.DeepCopyInto(&out.Pod)
	c.Container.DeepCopyInto(&out.Container)
	return &out
}

// String names the workload as kubectl does, for messages:
// deployment/web.
func (c *Container) String() string { return Name(c.Ref) }

// Name names a workload as kubectl does: deployment/web.
func Name(ref v1alpha1.WorkloadRef) string {
	return strings.ToLower(ref.Kind) + "/" + ref.Name
}

// NewObject returns an empty object of the kind ref names, to read it
// into; nil for a kind taskgate does not take containers from.
func NewObject(kind string) client.Object {
	switch kind {
	case v1alpha1.WorkloadDeployment:
		return &appsv1.Deployment{}
	case v1alpha1.WorkloadStatefulSet:
		return &appsv1.StatefulSet{}
	case v1alpha1.WorkloadDaemonSet:
		return &appsv1.DaemonSet{}
	case v1alpha1.WorkloadCronJob:
		return &batchv1.CronJob{}
	}
	return nil
}

// Template returns a workload's pod template and the selector of its pods;
// the selector is nil for a CronJob, whose pods belong to its Jobs.
func Template(obj client.Object) (*corev1.PodTemplateSpec, *metav1.LabelSelector) {
	switch w := obj.(type) {
	case *appsv1.Deployment:
		return &w.Spec.Template, w.Spec.Selector
	case *appsv1.StatefulSet:
		return &w.Spec.Template, w.Spec.Selector
	case *appsv1.DaemonSet:
		return &w.Spec.Template, w.Spec.Selector
	case *batchv1.CronJob:
		return &w.Spec.JobTemplate.Spec.Template, nil
	}
	return nil, nil
}

// Choose returns the index of the template's container to run: the one
// named, else the one the default-container annotation names, else the
// first. fldPath is spec.from, for the error when there is none.
func Choose(ref v1alpha1.WorkloadRef, t *corev1.PodTemplateSpec, fldPath *field.Path) (int, *field.Error) {
	names := make([]string, len(t.Spec.Containers))
	for i := range t.Spec.Containers {
		names[i] = t.Spec.Containers[i].Name
	}
	if len(names) == 0 {
		return -1, field.Invalid(fldPath.Child("name"), ref.Name, fmt.Sprintf("%s has no containers", Name(ref)))
	}
	// A stale annotation should not stop a Task; kubectl falls back to
	// the first container too.
	byDefault := max(0, slices.Index(names, t.Annotations[DefaultContainerAnnotation]))
	if ref.Container == "" {
		return byDefault, nil
	}
	if i := slices.Index(names, ref.Container); i >= 0 {
		return i, nil
	}
	return -1, &field.Error{Type: field.ErrorTypeNotFound, Field: fldPath.Child("container").String(), BadValue: ref.Container,
		Detail: fmt.Sprintf("%s has no such container; set spec.from.container to one of %s, or leave it empty for %s",
			Name(ref), strings.Join(names, ", "), names[byDefault])}
}
