package bench

import (
	"strings"
	"testing"
	"time"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
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

func secs(v ...float64) []RealNodeRun {
	out := make([]RealNodeRun, len(v)/2)
	for i := range out {
		out[i] = RealNodeRun{Running: time.Duration(v[2*i] * float64(time.Second)), Done: time.Duration(v[2*i+1] * float64(time.Second))}
	}
	return out
}

func TestAddRealNodeRows(t *testing.T) {
	var r Report
	// Nearest-rank p50 of four is the second smallest.
	addRealNodeRows(&r, &RealNodeResult{
		Start:        12345 * time.Millisecond,
		Tasks:        secs(2.2, 3.5, 2.0, 3.3, 2.9, 4.1, 2.1, 3.4),
		PipelineRuns: secs(2.0, 3.0, 1.9, 3.1, 2.5, 3.9, 1.8, 3.2),
	})
	want := []Row{
		{Figure: "Real node: start (containerd, images imported, kubelet Ready)", Result: "12.3 s"},
		{
			Figure: "Real node, 4 Tasks one at a time: create → process running", Result: "p50 2.10 s, max 2.90 s",
			Baseline: "4 bare PipelineRuns of the same step: p50 1.90 s, max 2.50 s", Ratio: "1.11× at p50",
			Target: "≤ 1.1× the bare PipelineRun at p50", Met: "no",
		},
		{
			Figure: "Real node, 4 Tasks one at a time: create → Succeeded", Result: "p50 3.40 s, max 4.10 s",
			Baseline: "4 bare PipelineRuns of the same step: p50 3.10 s, max 3.90 s", Ratio: "1.10× at p50",
			Target: "≤ 1.1× the bare PipelineRun at p50", Met: "yes",
		},
	}
	if len(r.Rows) != len(want) {
		t.Fatalf("got %d rows, want %d: %+v", len(r.Rows), len(want), r.Rows)
	}
	for i := range want {
		if r.Rows[i] != want[i] {
			t.Errorf("row %d:\n got %+v\nwant %+v", i, r.Rows[i], want[i])
		}
	}
	if len(r.Notes) != 1 || !strings.HasPrefix(r.Notes[0], `Real node: Tasks of an App with image example.invalid/localcluster/shell:uid-1000 and command "echo started; sleep 1"`) {
		t.Errorf("notes = %q", r.Notes)
	}
}

// A baseline of nothing has no ratio and cannot meet the target.
func TestAddRealNodeRowsWithoutBaseline(t *testing.T) {
	var r Report
	addRealNodeRows(&r, &RealNodeResult{Start: time.Second, Tasks: secs(2, 3)})
	want := Row{
		Figure: "Real node, 1 Tasks one at a time: create → process running", Result: "p50 2.00 s, max 2.00 s",
		Baseline: "0 bare PipelineRuns of the same step: p50 0.00 s, max 0.00 s",
		Target:   "≤ 1.1× the bare PipelineRun at p50", Met: "no",
	}
	if r.Rows[1] != want {
		t.Errorf("got %+v\nwant %+v", r.Rows[1], want)
	}
}

func TestWithoutTask(t *testing.T) {
	pr := &pipelinev1.PipelineRun{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: "ns", Name: "run-001", UID: "u",
			Labels:          map[string]string{"taskgate.dev/task": "run-001", "tekton.dev/pipeline": "run-001", "security-group": "web"},
			Annotations:     map[string]string{"note": "kept"},
			OwnerReferences: []metav1.OwnerReference{{Kind: "Task", Name: "run-001"}},
		},
		Spec: pipelinev1.PipelineRunSpec{TaskRunTemplate: pipelinev1.PipelineTaskRunTemplate{ServiceAccountName: "default"}},
	}
	got := withoutTask(pr)
	if got.Name != "" || got.Namespace != "" || got.UID != "" || len(got.OwnerReferences) != 0 ||
		len(got.Labels) != 1 || got.Labels["security-group"] != "web" || got.Annotations["note"] != "kept" ||
		got.Spec.TaskRunTemplate.ServiceAccountName != "default" {
		t.Errorf("withoutTask = %+v", got)
	}
	got.Spec.TaskRunTemplate.ServiceAccountName = "changed"
	if pr.Spec.TaskRunTemplate.ServiceAccountName != "default" {
		t.Error("withoutTask shares its spec with the PipelineRun")
	}
}
