package reconciler

import (
	"fmt"
	"maps"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"knative.dev/pkg/apis"
	duckv1 "knative.dev/pkg/apis/duck/v1"

	"github.com/taskgate/taskgate/api/v1alpha1"
	"github.com/taskgate/taskgate/policy"
)

func TestPipelineRunFactsKeepsWhatTheReconcilerReads(t *testing.T) {
	spec := &pipelinev1.PipelineSpec{Tasks: []pipelinev1.PipelineTask{{Name: PipelineTaskName}}}
	status := duckv1.Status{Conditions: duckv1.Conditions{{Type: apis.ConditionSucceeded, Status: corev1.ConditionTrue}}}
	children := []pipelinev1.ChildStatusReference{{Name: "migrate-run", PipelineTaskName: PipelineTaskName}}
	timeouts := &pipelinev1.TimeoutFields{Pipeline: &metav1.Duration{}}
	in := &pipelinev1.PipelineRun{
		ObjectMeta: metav1.ObjectMeta{
			Name: "migrate", ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "tekton"}},
			Labels:      map[string]string{v1alpha1.LabelTask: "migrate", v1alpha1.LabelApp: "shop", "tekton.dev/pipeline": "migrate"},
			Annotations: map[string]string{"taskgate.dev/policy-decision": "x", "results.tekton.dev/record": "y"},
		},
		Spec: pipelinev1.PipelineRunSpec{PipelineSpec: spec, Status: pipelinev1.PipelineRunSpecStatusCancelled, Timeouts: timeouts},
		Status: pipelinev1.PipelineRunStatus{Status: status, PipelineRunStatusFields: pipelinev1.PipelineRunStatusFields{
			StartTime: mt(0), CompletionTime: mt(1), ChildReferences: children, PipelineSpec: spec,
			Provenance: &pipelinev1.Provenance{}, SpanContext: map[string]string{"a": "b"},
		}},
	}
	want := &pipelinev1.PipelineRun{
		ObjectMeta: metav1.ObjectMeta{Name: "migrate", Labels: map[string]string{v1alpha1.LabelTask: "migrate"}},
		Spec:       pipelinev1.PipelineRunSpec{Status: pipelinev1.PipelineRunSpecStatusCancelled, Timeouts: timeouts},
		Status: pipelinev1.PipelineRunStatus{Status: status, PipelineRunStatusFields: pipelinev1.PipelineRunStatusFields{
			StartTime: mt(0), CompletionTime: mt(1), ChildReferences: children,
		}},
	}
	got, err := PipelineRunFacts(in)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("PipelineRunFacts() (-want +got):\n%s", diff)
	}
}

func TestTaskRunFactsKeepsWhatTheReconcilerReads(t *testing.T) {
	spec := &pipelinev1.TaskSpec{Steps: []pipelinev1.Step{{Name: StepName, Image: "x"}}}
	status := duckv1.Status{Conditions: duckv1.Conditions{{Type: apis.ConditionSucceeded, Status: corev1.ConditionFalse}}}
	step := pipelinev1.StepState{Name: StepName, Container: "step-" + StepName, ImageID: "sha256:1",
		ContainerState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 3}}}
	in := &pipelinev1.TaskRun{
		ObjectMeta: metav1.ObjectMeta{
			Name: "migrate-run", ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "tekton"}},
			Labels:      map[string]string{v1alpha1.LabelTask: "migrate", "tekton.dev/pipelineRun": "migrate", "tekton.dev/memberOf": "tasks"},
			Annotations: map[string]string{"pipeline.tekton.dev/release": "v1"},
		},
		Spec: pipelinev1.TaskRunSpec{TaskSpec: spec, Timeout: &metav1.Duration{}, ServiceAccountName: "sa"},
		Status: pipelinev1.TaskRunStatus{Status: status, TaskRunStatusFields: pipelinev1.TaskRunStatusFields{
			PodName: "migrate-run-pod", StartTime: mt(0), CompletionTime: mt(1), Steps: []pipelinev1.StepState{step}, TaskSpec: spec,
			RetriesStatus: pipelinev1.RetriesStatus{{Status: status, TaskRunStatusFields: pipelinev1.TaskRunStatusFields{PodName: "old", TaskSpec: spec}}},
		}},
	}
	want := &pipelinev1.TaskRun{
		ObjectMeta: metav1.ObjectMeta{Name: "migrate-run", Labels: map[string]string{v1alpha1.LabelTask: "migrate"}},
		Spec:       pipelinev1.TaskRunSpec{Timeout: &metav1.Duration{}},
		Status: pipelinev1.TaskRunStatus{Status: status, TaskRunStatusFields: pipelinev1.TaskRunStatusFields{
			PodName: "migrate-run-pod", StartTime: mt(0), CompletionTime: mt(1),
			Steps:         []pipelinev1.StepState{{Name: StepName, Container: "step-" + StepName, ContainerState: step.ContainerState}},
			RetriesStatus: pipelinev1.RetriesStatus{{Status: status}},
		}},
	}
	got, err := TaskRunFacts(in)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("TaskRunFacts() (-want +got):\n%s", diff)
	}
}

func TestTaskFactsDropsTheResolvedRunOfFinishedTasks(t *testing.T) {
	const lastApplied = "kubectl.kubernetes.io/last-applied-configuration"
	labels := map[string]string{v1alpha1.LabelApp: "shop", "team": "a"}
	for _, state := range []v1alpha1.TaskState{"", v1alpha1.TaskStatePending, v1alpha1.TaskStateRunning, v1alpha1.TaskStateSucceeded, v1alpha1.TaskStateFailed, v1alpha1.TaskStateCancelled} {
		for _, annotations := range []map[string]string{
			nil,
			{lastApplied: `{"kind":"Task"}`, "team": "a"},
			{lastApplied: `{"kind":"Task"}`, "taskgate.dev/ttl-source": "policy", "taskgate.dev/policy-decision": "set ttlSecondsAfterFinished=3600 (rule failed)", "helm.sh/hook": "post-install"},
		} {
			t.Run(fmt.Sprintf("%s/%d annotations", state, len(annotations)), func(t *testing.T) {
				in := &v1alpha1.Task{
					ObjectMeta: metav1.ObjectMeta{
						Name: "migrate", ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubectl"}},
						Labels: maps.Clone(labels), Annotations: maps.Clone(annotations),
					},
					Spec: v1alpha1.TaskSpec{AppRef: v1alpha1.AppReference{Name: "shop"}, Env: []corev1.EnvVar{{Name: "RAILS_ENV", Value: "test"}},
						Resolved: &v1alpha1.ResolvedRun{Image: "shop:v1"}, TTLSecondsAfterFinished: ptr.To[int32](604800)},
					Status: v1alpha1.TaskStatus{State: state},
				}
				if state.IsFinished() {
					in.Status.TTLSecondsAfterFinished, in.Status.TTLDecision = ptr.To[int32](3600), "set ttlSecondsAfterFinished=3600 (rule succeeded-hour)"
				}
				// What the TTL in force is computed from, before the trim.
				p, err := policy.Load([]byte("apiVersion: taskgate.dev/v1alpha1\nkind: Policy\nttl:\n  rules:\n  - {name: any-hour, kinds: [Task], when: Finished, ttlSecondsAfterFinished: 3600}\n"))
				if err != nil {
					t.Fatal(err)
				}
				now := time.Now()
				wantTTL, wantDecision := CompletionTTL(p, in, &in.Status, nil, now)
				want := &v1alpha1.Task{
					ObjectMeta: metav1.ObjectMeta{Name: "migrate", Labels: labels, Annotations: annotations},
					Spec:       *in.Spec.DeepCopy(), Status: in.Status,
				}
				want.Spec.Env = nil
				if state.IsFinished() {
					want.Spec.Resolved = nil
					// Only the annotations TTL policy reads.
					want.Annotations = nil
					if _, ok := annotations["taskgate.dev/ttl-source"]; ok {
						want.Annotations = map[string]string{"taskgate.dev/ttl-source": "policy", "helm.sh/hook": "post-install"}
					}
				}
				got, err := TaskFacts(in)
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("TaskFacts() (-want +got):\n%s", diff)
				}
				trimmed := got.(*v1alpha1.Task)
				if ttl, decision := CompletionTTL(p, trimmed, &trimmed.Status, nil, now); !ptr.Equal(ttl, wantTTL) || decision != wantDecision {
					t.Errorf("CompletionTTL() of the cached Task = %s, %q; of the Task = %s, %q", ptrString(ttl), decision, ptrString(wantTTL), wantDecision)
				}
			})
		}
	}
}
