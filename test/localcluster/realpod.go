package localcluster

import (
	"errors"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// CheckRealPod returns an error unless pod really ran on the real node: it
// is bound to RealNodeName, every container with a status has a
// containerd container ID, and only kubelet has written its status. kwok
// never sets container IDs, and a status written by anything but kubelet
// would be simulated, so a test asserting on this pod cannot pass on a
// simulated one by accident.
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
	writers := statusWriters(pod)
	if len(writers) != 1 || writers[0] != "kubelet" {
		errs = append(errs, fmt.Errorf("the status of pod %s/%s was written by %v, want kubelet alone", pod.Namespace, pod.Name, writers))
	}
	return errors.Join(errs...)
}

// statusWriters are the field managers of the pod's status subresource.
func statusWriters(pod *corev1.Pod) []string {
	var managers []string
	for _, f := range pod.ManagedFields {
		if f.Subresource == "status" {
			managers = append(managers, f.Manager)
		}
	}
	return managers
}
