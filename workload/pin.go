package workload

import (
	"slices"
	"strings"

	"github.com/distribution/reference"
	"github.com/opencontainers/go-digest"
	corev1 "k8s.io/api/core/v1"
)

// Pin returns image pinned to the digest that the newest of pods running
// it in container reports, and whether one did. kubelet reports what it
// runs as the container status's imageID, repository@sha256:...; an image
// known only by its local ID (sha256:...) says nothing a registry can
// serve, and an image already named by digest is returned as it is. Pods
// running another image, an older rollout's, are not asked. The tag stays
// in the reference, beside the digest, for people reading it; the digest
// decides what runs.
func Pin(image, container string, pods []corev1.Pod) (string, bool) {
	named, err := reference.ParseNormalizedNamed(image)
	if err != nil {
		return image, false
	}
	if _, ok := named.(reference.Digested); ok {
		return image, true
	}
	pods = slices.Clone(pods)
	// Newest first: in a rollout of a moved tag, the newest pods run what
	// the tag names now.
	slices.SortFunc(pods, func(a, b corev1.Pod) int {
		if c := b.CreationTimestamp.Compare(a.CreationTimestamp.Time); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	for i := range pods {
		d, ok := runningDigest(&pods[i], image, container)
		if !ok {
			continue
		}
		pinned, err := reference.WithDigest(named, d)
		if err != nil {
			continue
		}
		return reference.FamiliarString(pinned), true
	}
	return image, false
}

// runningDigest is the digest of image in the pod's container, when the
// pod's spec runs image there and kubelet reports a repository digest.
func runningDigest(pod *corev1.Pod, image, container string) (digest.Digest, bool) {
	i := slices.IndexFunc(pod.Spec.Containers, func(c corev1.Container) bool { return c.Name == container })
	if i < 0 || pod.Spec.Containers[i].Image != image {
		return "", false
	}
	for _, s := range pod.Status.ContainerStatuses {
		if s.Name != container {
			continue
		}
		at := strings.LastIndex(s.ImageID, "@")
		if at < 0 {
			return "", false
		}
		d, err := digest.Parse(s.ImageID[at+1:])
		return d, err == nil
	}
	return "", false
}
