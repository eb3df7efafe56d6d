package workload

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const (
	digestA = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	digestB = "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
)

func pod(name string, age time.Duration, container, image, imageID string) corev1.Pod {
	return corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, CreationTimestamp: metav1.NewTime(time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC).Add(-age))},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "sidecar", Image: "proxy:1"}, {Name: container, Image: image}}},
		Status: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{
			{Name: "sidecar", ImageID: "docker.io/library/proxy@" + digestB},
			{Name: container, ImageID: imageID},
		}},
	}
}

func TestPin(t *testing.T) {
	const image = "registry.example.com/shop/web:v1"
	for _, tc := range []struct {
		name       string
		image      string
		pods       []corev1.Pod
		want       string
		wantPinned bool
	}{
		{"no pods", image, nil, image, false},
		{"a pod reports the digest", image,
			[]corev1.Pod{pod("a", time.Minute, "app", image, "registry.example.com/shop/web@"+digestA)},
			image + "@" + digestA, true},
		{"the newest pod wins when a moved tag runs two digests", image, []corev1.Pod{
			pod("old", time.Hour, "app", image, "registry.example.com/shop/web@"+digestB),
			pod("new", time.Minute, "app", image, "registry.example.com/shop/web@"+digestA),
		}, image + "@" + digestA, true},
		{"a pod of an older rollout's image is not asked", image,
			[]corev1.Pod{pod("a", time.Minute, "app", "registry.example.com/shop/web:v0", "registry.example.com/shop/web@"+digestA)},
			image, false},
		{"another container's digest is not taken", image,
			[]corev1.Pod{pod("a", time.Minute, "worker", image, "registry.example.com/shop/web@"+digestA)},
			image, false},
		{"a local image ID is no repository digest", image,
			[]corev1.Pod{pod("a", time.Minute, "app", image, digestA)}, image, false},
		{"a pod not started yet reports nothing", image,
			[]corev1.Pod{pod("a", time.Minute, "app", image, "")}, image, false},
		{"a Docker Hub name stays short", "busybox:1.37",
			[]corev1.Pod{pod("a", time.Minute, "app", "busybox:1.37", "docker.io/library/busybox@"+digestA)},
			"busybox:1.37@" + digestA, true},
		{"an image named by digest is already pinned", "registry.example.com/shop/web@" + digestB,
			[]corev1.Pod{pod("a", time.Minute, "app", "registry.example.com/shop/web@"+digestB, "registry.example.com/shop/web@"+digestB)},
			"registry.example.com/shop/web@" + digestB, true},
		{"not a reference", "Not An Image", nil, "Not An Image", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, pinned := Pin(tc.image, "app", tc.pods)
			if got != tc.want || pinned != tc.wantPinned {
				t.Fatalf("Pin() = %q, %v; want %q, %v", got, pinned, tc.want, tc.wantPinned)
			}
		})
	}
}
