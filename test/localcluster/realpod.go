package localcluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	taskgatev1alpha1 "github.com/taskgate/taskgate/api/v1alpha1"
)

// CheckRealPod returns an error unless pod really ran on the real node: it
// is bound to RealNodeName, every container with a status has a
// containerd container ID, and kubelet wrote its status, with no other
// writer but kube-scheduler's PodScheduled condition (set False while the
// pod waited for room on the node). kwok never sets container IDs, and a
// status written by anything else would be simulated, so a test asserting
// on this pod cannot pass on a simulated one by accident.
func CheckRealPod(pod *corev1.Pod) error {
	var errs []error
	if pod.Spec.NodeName != RealNodeName {
		errs = append(errs, fmt.Errorf("pod %s/%s is bound to node %q, not the real node %s", pod.Namespace, pod.Name, pod.Spec.NodeName, RealNodeName))
	}
	statuses := append(append([]corev1.ContainerStatus{}, pod.Status.InitContainerStatuses...), pod.Status.ContainerStatuses...)
	if len(statuses) == 0 {
		errs = append(errs, fmt.Errorf("pod %s/%s has no container statuses", pod.Namespace, pod.Name))
	}
	for _, s := range statuses {
		if !strings.HasPrefix(s.ContainerID, "containerd://") {
			errs = append(errs, fmt.Errorf("container %s of pod %s/%s has container ID %q, not one from containerd", s.Name, pod.Namespace, pod.Name, s.ContainerID))
		}
	}
	if err := checkStatusWriters(pod); err != nil {
		errs = append(errs, fmt.Errorf("pod %s/%s: %w", pod.Namespace, pod.Name, err))
	}
	return errors.Join(errs...)
}

// schedulerStatusFields are the only status fields kube-scheduler may own
// on a real pod: the PodScheduled condition it sets False when the pod does
// not fit yet, and the node it nominates for a preemption.
var schedulerStatusFields = map[string]bool{
	`f:conditions/.`: true, `f:conditions/k:{"type":"PodScheduled"}`: true, `f:nominatedNodeName`: true,
}

// checkStatusWriters checks the field managers of the pod's status
// subresource: kubelet, and kube-scheduler only for schedulerStatusFields.
func checkStatusWriters(pod *corev1.Pod) error {
	var writers []string
	kubelet := false
	for _, f := range pod.ManagedFields {
		if f.Subresource != "status" {
			continue
		}
		writers = append(writers, f.Manager)
		switch f.Manager {
		case "kubelet":
			kubelet = true
			continue
		case "kube-scheduler":
			fields, err := statusFields(f.FieldsV1)
			if err == nil && !slices.ContainsFunc(fields, func(p string) bool { return !schedulerStatusFields[p] }) {
				continue
			}
			return fmt.Errorf("kube-scheduler owns status fields %v (%v), want only %v", fields, err, slices.Sorted(maps.Keys(schedulerStatusFields)))
		}
		return fmt.Errorf("the status was written by %v, want kubelet alone (and kube-scheduler's PodScheduled condition)", writers)
	}
	if !kubelet {
		return fmt.Errorf("the status was written by %v, want kubelet", writers)
	}
	return nil
}

// statusFields lists a managed-fields entry's paths under status, two
// levels deep ("f:conditions/k:{...}"), sorted.
func statusFields(fields *metav1.FieldsV1) ([]string, error) {
	if fields == nil {
		return nil, nil
	}
	var tree struct {
		Status map[string]map[string]any `json:"f:status"`
	}
	if err := json.Unmarshal(fields.GetRawBytes(), &tree); err != nil {
		return nil, fmt.Errorf("decoding managed fields: %w", err)
	}
	var paths []string
	for field, children := range tree.Status {
		if len(children) == 0 {
			paths = append(paths, field)
		}
		for child := range children {
			paths = append(paths, field+"/"+child)
		}
	}
	slices.Sort(paths)
	return paths, nil
}

// ContainerLogs reads a container's logs through the apiserver, which asks
// the node's kubelet (or kwok, for its pods).
func (c *Cluster) ContainerLogs(ctx context.Context, ns, pod, container string) (string, error) {
	cs, err := kubernetes.NewForConfig(c.Config)
	if err != nil {
		return "", fmt.Errorf("creating clientset: %w", err)
	}
	b, err := cs.CoreV1().Pods(ns).GetLogs(pod, &corev1.PodLogOptions{Container: container}).DoRaw(ctx)
	if err != nil {
		return "", fmt.Errorf("reading logs of %s/%s container %s: %w", ns, pod, container, err)
	}
	return string(b), nil
}

// RealNodeJob is a Job labelled with app, whose one pod runs script with
// the real node's shell image (ImageShellUID) and is not retried: what a
// user writes to run a script as an App's labelled Job.
func RealNodeJob(namespace, name, app, script string) *batchv1.Job {
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name, Labels: map[string]string{taskgatev1alpha1.LabelApp: app}},
		Spec: batchv1.JobSpec{
			BackoffLimit: ptr.To[int32](0),
			Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
				RestartPolicy: corev1.RestartPolicyNever,
				Containers: []corev1.Container{{
					Name: "main", Image: ImageShellUID,
					Command: []string{"/bin/sh", "-c", script},
				}},
			}},
		},
	}
}
