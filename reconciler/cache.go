package reconciler

import (
	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"

	"github.com/taskgate/taskgate/api/v1alpha1"
)

// PipelineRunFacts, a cache transform, strips a cached PipelineRun to what the Task reconciler
// reads: metadata, whether it was cancelled, its timeouts and its outcome.
// The pipeline spec, which Tekton also copies into status, is most of a
// run's size, and taskgate never reads it back: it builds it. Nothing
// updates a PipelineRun from the cache (cancelling is a JSON patch), so no
// write can drop what was stripped.
func PipelineRunFacts(obj any) (any, error) {
	pr, ok := obj.(*pipelinev1.PipelineRun)
	if !ok {
		return obj, nil
	}
	pr.ManagedFields = nil
	pr.Spec = pipelinev1.PipelineRunSpec{Status: pr.Spec.Status, Timeouts: pr.Spec.Timeouts}
	pr.Status = pipelinev1.PipelineRunStatus{
		Status: pr.Status.Status,
		PipelineRunStatusFields: pipelinev1.PipelineRunStatusFields{
			StartTime: pr.Status.StartTime, CompletionTime: pr.Status.CompletionTime, ChildReferences: pr.Status.ChildReferences,
		},
	}
	return pr, nil
}

// TaskRunFacts, a cache transform, strips a cached TaskRun likewise: its pod, its times, its
// steps' states and how many times it was retried, but not the task spec it
// carries twice.
func TaskRunFacts(obj any) (any, error) {
	tr, ok := obj.(*pipelinev1.TaskRun)
	if !ok {
		return obj, nil
	}
	tr.ManagedFields = nil
	tr.Spec = pipelinev1.TaskRunSpec{Status: tr.Spec.Status, Timeout: tr.Spec.Timeout}
	retries := make(pipelinev1.RetriesStatus, len(tr.Status.RetriesStatus))
	for i, r := range tr.Status.RetriesStatus {
		retries[i] = pipelinev1.TaskRunStatus{Status: r.Status}
	}
	steps := make([]pipelinev1.StepState, len(tr.Status.Steps))
	for i, st := range tr.Status.Steps {
		steps[i] = pipelinev1.StepState{Name: st.Name, Container: st.Container, ContainerState: st.ContainerState}
	}
	if len(retries) == 0 {
		retries = nil
	}
	if len(steps) == 0 {
		steps = nil
	}
	tr.Status = pipelinev1.TaskRunStatus{
		Status: tr.Status.Status,
		TaskRunStatusFields: pipelinev1.TaskRunStatusFields{
			PodName: tr.Status.PodName, StartTime: tr.Status.StartTime, CompletionTime: tr.Status.CompletionTime,
			Steps: steps, RetriesStatus: retries,
		},
	}
	return tr, nil
}

// TaskFacts, a cache transform, drops a finished Task's spec.resolved, most
// of a Task's size: its run is over and nothing builds from it again. Tasks
// are only ever patched with diffs of their status or labels, and read live
// before a delete, so nothing written or deleted depends on the dropped
// field.
func TaskFacts(obj any) (any, error) {
	task, ok := obj.(*v1alpha1.Task)
	if !ok {
		return obj, nil
	}
	task.ManagedFields = nil
	if task.Status.State.IsFinished() {
		task.Spec.Resolved = nil
	}
	return task, nil
}
