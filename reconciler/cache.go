package reconciler

import (
	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/taskgate/taskgate/api/v1alpha1"
	"github.com/taskgate/taskgate/policy"
)

// PipelineRunFacts, a cache transform, strips a cached PipelineRun to what the Task reconciler
// reads: metadata, whether it was cancelled, its timeouts and its outcome.
// The pipeline spec, which Tekton also copies into status, is most of a
// run's size, and taskgate never reads it back: it builds it. Of the
// labels and annotations Tekton adds, only the Task's label is kept.
// Nothing updates a PipelineRun from the cache (cancelling and the
// recorded label are JSON patches), so no write can drop what was stripped.
func PipelineRunFacts(obj any) (any, error) {
	return transform(obj, func(pr *pipelinev1.PipelineRun) {
		stripRunMeta(&pr.ObjectMeta)
		pr.Spec = pipelinev1.PipelineRunSpec{Status: pr.Spec.Status, Timeouts: pr.Spec.Timeouts}
		pr.Status = pipelinev1.PipelineRunStatus{
			Status: pr.Status.Status,
			PipelineRunStatusFields: pipelinev1.PipelineRunStatusFields{
				StartTime: pr.Status.StartTime, CompletionTime: pr.Status.CompletionTime, ChildReferences: pr.Status.ChildReferences,
			},
		}
	})
}

// TaskRunFacts, a cache transform, strips a cached TaskRun likewise: its pod, its times, its
// steps' states, how many times it was retried and the label naming its
// Task, but not the task spec it carries twice.
func TaskRunFacts(obj any) (any, error) {
	return transform(obj, func(tr *pipelinev1.TaskRun) {
		stripRunMeta(&tr.ObjectMeta)
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
	})
}

// transform strips obj with strip when it is a T; anything else the
// informer hands a transform passes through untouched.
func transform[T any](obj any, strip func(T)) (any, error) {
	if t, ok := obj.(T); ok {
		strip(t)
	}
	return obj, nil
}

// stripRunMeta keeps, of a run's labels, the one naming its Task, which
// maps a TaskRun's events to the Task; Tekton adds half a dozen more, and
// annotations, that taskgate never reads.
func stripRunMeta(meta *metav1.ObjectMeta) {
	meta.ManagedFields = nil
	meta.Annotations = nil
	if name, ok := meta.Labels[v1alpha1.LabelTask]; ok {
		meta.Labels = map[string]string{v1alpha1.LabelTask: name}
	} else {
		meta.Labels = nil
	}
}

// TaskFacts, a cache transform, drops from a finished Task most of its
// size: spec.resolved, since its run is over and nothing builds from it
// again, and the annotations policy does not decide by (kubectl's
// last-applied-configuration copies the whole Task), since only TTL policy
// reads them after the run is built, for the TTL in force (CompletionTTL),
// which reads the labels, owner, spec TTL and status kept here. The
// reconciler writes only diffs of a Task's status, and reads it live
// before a delete, so nothing written or deleted depends on a dropped
// field.
// Every Task's spec.env goes too: the run is built from spec.resolved.
func TaskFacts(obj any) (any, error) {
	return transform(obj, func(task *v1alpha1.Task) {
		task.ManagedFields = nil
		// Only admission reads it, to resolve; spec.resolved has a copy,
		// and it may be 64 Ki characters.
		task.Spec.Env = nil
		if task.Status.State.IsFinished() {
			task.Spec.Resolved = nil
			task.Annotations = policyAnnotations(task.Annotations)
		}
	})
}

// policyAnnotations returns a new map of the annotations in a that policy
// decides by, or nil: deleting keys would not shrink the map.
func policyAnnotations(a map[string]string) map[string]string {
	var own map[string]string
	for k, v := range a {
		if policy.DecidesBy(k) {
			if own == nil {
				own = map[string]string{}
			}
			own[k] = v
		}
	}
	return own
}
