package bench

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestRealNodeStartup(t *testing.T) {
	for _, tc := range []struct {
		line string
		want time.Duration
		ok   bool
	}{
		{"the real node ready in 12.34s", 12340 * time.Millisecond, true},
		{"the real node ready in 1m3.5s", 63500 * time.Millisecond, true},
		{"tekton ready in 8.2s", 0, false},
		{"cluster ready in 40s; KUBECONFIG=/tmp/kubeconfig", 0, false},
		{"the real node ready in soon", 0, false},
	} {
		got, ok := realNodeStartup(tc.line)
		if got != tc.want || ok != tc.ok {
			t.Errorf("realNodeStartup(%q) = %s, %t; want %s, %t", tc.line, got, ok, tc.want, tc.ok)
		}
	}
}

// stepPod is a pod whose step-main container terminated with message,
// beside Tekton's init container.
func stepPod(message string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "run-001-run-pod"},
		Status: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{
			{Name: "prepare", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Message: "[]"}}},
			{Name: "step-main", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
				StartedAt: metav1.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
				Message:   message,
			}}},
		}},
	}
}

func TestProcessStart(t *testing.T) {
	got, err := processStart(stepPod(`[{"key":"StartedAt","value":"2026-01-02T03:04:05.678Z","type":3}]`))
	if want := time.Date(2026, 1, 2, 3, 4, 5, 678e6, time.UTC); err != nil || !got.Equal(want) {
		t.Errorf("processStart = %s, %v; want %s", got, err, want)
	}
	// Tekton wrote the type as a string before it wrote numbers.
	got, err = processStart(stepPod(`[{"key":"StartedAt","value":"2026-01-02T04:04:05.001+01:00","type":"InternalTektonResult"}]`))
	if want := time.Date(2026, 1, 2, 3, 4, 5, 1e6, time.UTC); err != nil || !got.Equal(want) {
		t.Errorf("processStart = %s, %v; want %s", got, err, want)
	}
}

// Without the entrypoint's StartedAt the figure is not measured at all,
// rather than to the whole seconds of the container's startedAt.
func TestProcessStartFails(t *testing.T) {
	running := stepPod("")
	running.Status.ContainerStatuses[1].State = corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.Now()}}
	noStep := stepPod("")
	noStep.Status.ContainerStatuses = noStep.Status.ContainerStatuses[:1]
	for _, tc := range []struct {
		name string
		pod  *corev1.Pod
		want string
	}{
		{"no step container", noStep, "pod ns/run-001-run-pod has no status of container step-main"},
		{"still running", running, "container step-main of pod ns/run-001-run-pod has not terminated"},
		{"no message", stepPod(""), "reading the termination message of container step-main of pod ns/run-001-run-pod: unexpected end of JSON input"},
		{"a step result of that name", stepPod(`[{"key":"StartedAt","value":"2026-01-02T03:04:05.678Z","type":4}]`),
			`the termination message of container step-main of pod ns/run-001-run-pod has no StartedAt: "[{\"key\":\"StartedAt\",\"value\":\"2026-01-02T03:04:05.678Z\",\"type\":4}]"`},
		{"bad time", stepPod(`[{"key":"StartedAt","value":"yesterday","type":3}]`),
			`reading StartedAt of container step-main of pod ns/run-001-run-pod: parsing time "yesterday" as "2006-01-02T15:04:05.999999999Z07:00": cannot parse "yesterday" as "2006"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := processStart(tc.pod)
			if err == nil || err.Error() != tc.want {
				t.Errorf("processStart error = %v\nwant %s", err, tc.want)
			}
		})
	}
}
