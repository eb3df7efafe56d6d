package workload

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/taskgate/taskgate/api/v1alpha1"
)

// maxPods bounds how many of a workload's pods one read lists: one that
// runs the template's image is enough, and a DaemonSet may have thousands.
const maxPods = 100

// Reader reads the container an App's spec.from names. Its client should
// read the API server directly (the manager's APIReader): see the package
// documentation.
type Reader struct {
	Client client.Reader
	// Unpinned reads no pods, and leaves the image as the template names
	// it: for callers that compare only what a pod may do.
	Unpinned bool
}

// Read returns the container ref names in namespace. A workload that does
// not exist, or has no such container, is a field error at fldPath
// (spec.from); a failed read is an error.
func (r Reader) Read(ctx context.Context, namespace string, ref v1alpha1.WorkloadRef, fldPath *field.Path) (*Container, *field.Error, error) {
	obj := NewObject(ref.Kind)
	if obj == nil {
		return nil, field.NotSupported(fldPath.Child("kind"), ref.Kind, []string{
			v1alpha1.WorkloadDeployment, v1alpha1.WorkloadStatefulSet, v1alpha1.WorkloadDaemonSet, v1alpha1.WorkloadCronJob}), nil
	}
	err := r.Client.Get(ctx, types.NamespacedName{Namespace: namespace, Name: ref.Name}, obj)
	if apierrors.IsNotFound(err) {
		return nil, &field.Error{Type: field.ErrorTypeNotFound, Field: fldPath.Child("name").String(), BadValue: ref.Name,
			Detail: fmt.Sprintf("%s does not exist in namespace %s; create it, or point spec.from at a workload that exists", Name(ref), namespace)}, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("reading %s: %w", Name(ref), err)
	}
	template, selector := Template(obj)
	i, ferr := Choose(ref, template, fldPath)
	if ferr != nil {
		return nil, ferr, nil
	}
	c := &Container{Ref: ref, Pod: *template.Spec.DeepCopy(), Container: *template.Spec.Containers[i].DeepCopy()}
	c.Ref.Container = c.Container.Name
	c.Pod.Containers = nil
	c.Pod.InitContainers = nil
	c.Pod.EphemeralContainers = nil
	if r.Unpinned {
		c.Image = c.Container.Image
		return c, nil, nil
	}
	pods, err := r.pods(ctx, namespace, selector)
	if err != nil {
		return nil, nil, fmt.Errorf("listing the pods of %s: %w", Name(ref), err)
	}
	c.Image, c.Pinned = Pin(c.Container.Image, c.Container.Name, pods)
	return c, nil, nil
}

// pods lists the pods selector selects; none for a CronJob, or a selector
// that selects everything, which no workload controller accepts.
func (r Reader) pods(ctx context.Context, namespace string, selector *metav1.LabelSelector) ([]corev1.Pod, error) {
	if selector == nil {
		return nil, nil
	}
	sel, err := metav1.LabelSelectorAsSelector(selector)
	if err != nil || sel.Empty() {
		return nil, nil
	}
	list := &corev1.PodList{}
	if err := r.Client.List(ctx, list, client.InNamespace(namespace), client.MatchingLabelsSelector{Selector: sel}, client.Limit(maxPods)); err != nil {
		return nil, err
	}
	return list.Items, nil
}
