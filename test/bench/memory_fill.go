package bench

import (
	"context"
	"fmt"
	"time"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"
	"knative.dev/pkg/apis"
	"sigs.k8s.io/controller-runtime/pkg/client"

	taskgatev1alpha1 "github.com/taskgate/taskgate/api/v1alpha1"
)

// benchJobController is the spec.managedBy of the memory figure's Jobs: the
// in-tree Job controller leaves them alone and the bench writes their
// status, so 50k Jobs need no 50k pods (which taskgate does not cache).
const benchJobController = "bench.taskgate.dev/completer"

func (e *Env) fillTasks(ctx context.Context, namespaces []string, n int) error {
	tasks, err := e.watchTasks(ctx, "")
	if err != nil {
		return err
	}
	defer tasks.stop()
	runs, err := e.watchPipelineRuns(ctx, "")
	if err != nil {
		return err
	}
	defer runs.stop()
	name := func(i int) (string, string) {
		ns := namespaces[i%len(namespaces)]
		return ns, fmt.Sprintf("%s-task-%05d", ns, i)
	}
	if err := createAll(ctx, n, func(i int) error {
		ns, name := name(i)
		return e.Client.Create(ctx, capTask(ns, name, ""))
	}); err != nil {
		return fmt.Errorf("creating Tasks: %w", err)
	}
	if err := runs.until(ctx, 30*time.Minute, fmt.Sprintf("%d PipelineRuns", n), func(seen map[string]*taskSeen, _ int) bool { return len(seen) >= n }); err != nil {
		return err
	}
	if err := createAll(ctx, n, func(i int) error {
		ns, name := name(i)
		return e.runLikeTekton(ctx, client.ObjectKey{Namespace: ns, Name: name})
	}); err != nil {
		return fmt.Errorf("completing PipelineRuns: %w", err)
	}
	return tasks.until(ctx, 30*time.Minute, fmt.Sprintf("%d Tasks to finish", n), finishedAtLeast(n))
}

// runLikeTekton does what Tekton's controller does for a PipelineRun whose
// one pod succeeded: a TaskRun owned by it, and both statuses Succeeded.
func (e *Env) runLikeTekton(ctx context.Context, key client.ObjectKey) error {
	var pr pipelinev1.PipelineRun
	if err := e.Client.Get(ctx, key, &pr); err != nil {
		return err
	}
	pt := pr.Spec.PipelineSpec.Tasks[0]
	labels := map[string]string{"tekton.dev/pipelineRun": pr.Name, "tekton.dev/pipelineTask": pt.Name, "tekton.dev/memberOf": "tasks"}
	for k, v := range pr.Labels {
		labels[k] = v
	}
	tr := &pipelinev1.TaskRun{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: pr.Namespace, Name: pr.Name + "-" + pt.Name, Labels: labels, Annotations: pr.Annotations,
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: pipelinev1.SchemeGroupVersion.String(), Kind: "PipelineRun", Name: pr.Name, UID: pr.UID,
				Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true),
			}},
		},
		Spec: pipelinev1.TaskRunSpec{
			TaskSpec:           &pt.TaskSpec.TaskSpec,
			ServiceAccountName: pr.Spec.TaskRunTemplate.ServiceAccountName,
			PodTemplate:        pr.Spec.TaskRunTemplate.PodTemplate,
		},
	}
	if err := e.Client.Create(ctx, tr); err != nil {
		return fmt.Errorf("creating TaskRun: %w", err)
	}
	start := metav1.Now()
	end := metav1.NewTime(start.Add(time.Second))
	tr.Status.SetCondition(&apis.Condition{Type: apis.ConditionSucceeded, Status: corev1.ConditionTrue, Reason: "Succeeded", Message: "All Steps have completed executing"})
	tr.Status.PodName = tr.Name + "-pod"
	tr.Status.StartTime, tr.Status.CompletionTime = &start, &end
	tr.Status.TaskSpec = tr.Spec.TaskSpec
	tr.Status.Steps = []pipelinev1.StepState{{
		Name: pt.TaskSpec.Steps[0].Name, Container: "step-" + pt.TaskSpec.Steps[0].Name,
		ContainerState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 0, Reason: "Completed", StartedAt: start, FinishedAt: end}},
	}}
	if err := e.Client.Status().Update(ctx, tr); err != nil {
		return fmt.Errorf("completing TaskRun: %w", err)
	}
	pr.Status.MarkSucceeded("Succeeded", "Tasks Completed: 1 (Failed: 0, Cancelled 0), Skipped: 0")
	pr.Status.StartTime, pr.Status.CompletionTime = &start, &end
	pr.Status.PipelineSpec = pr.Spec.PipelineSpec
	pr.Status.ChildReferences = []pipelinev1.ChildStatusReference{{
		TypeMeta: runtime.TypeMeta{APIVersion: pipelinev1.SchemeGroupVersion.String(), Kind: "TaskRun"}, Name: tr.Name, PipelineTaskName: pt.Name,
	}}
	if err := e.Client.Status().Update(ctx, &pr); err != nil {
		return fmt.Errorf("completing PipelineRun: %w", err)
	}
	return nil
}

func (e *Env) fillJobs(ctx context.Context, namespaces []string, n int) error {
	// Done means the manager has decided the Job's completion TTL (the
	// Succeeded rule's, which admission already set).
	jobs, err := e.watch(ctx, "", &batchv1.JobList{}, func(obj client.Object) bool {
		job, ok := obj.(*batchv1.Job)
		return ok && ptr.Deref(job.Spec.TTLSecondsAfterFinished, 0) == 3600 && job.Labels[taskgatev1alpha1.LabelCompletionDecided] == "true"
	})
	if err != nil {
		return err
	}
	defer jobs.stop()
	if err := createAll(ctx, n, func(i int) error {
		ns := namespaces[i%len(namespaces)]
		job := benchJob(ns, fmt.Sprintf("%s-job-%05d", ns, i))
		job.Spec.Suspend = nil
		job.Spec.ManagedBy = ptr.To(benchJobController)
		if i%5 != 0 {
			delete(job.Labels, taskgatev1alpha1.LabelApp) // most Jobs are not an App's
		}
		if err := e.Client.Create(ctx, job); err != nil {
			return err
		}
		start := metav1.Now()
		end := metav1.NewTime(start.Add(time.Second))
		job.Status = batchv1.JobStatus{
			StartTime: &start, CompletionTime: &end, Succeeded: 1, Ready: ptr.To[int32](0), Terminating: ptr.To[int32](0),
			Conditions: []batchv1.JobCondition{
				{Type: batchv1.JobSuccessCriteriaMet, Status: corev1.ConditionTrue, Reason: "CompletionsReached", LastTransitionTime: end, LastProbeTime: end},
				{Type: batchv1.JobComplete, Status: corev1.ConditionTrue, Reason: "CompletionsReached", LastTransitionTime: end, LastProbeTime: end},
			},
		}
		return e.Client.Status().Update(ctx, job)
	}); err != nil {
		return fmt.Errorf("creating finished Jobs: %w", err)
	}
	return jobs.until(ctx, 30*time.Minute, fmt.Sprintf("%d Jobs to be decided", n), finishedAtLeast(n))
}

// finishedAtLeast holds once n of the watched objects have finished.
func finishedAtLeast(n int) func(map[string]*taskSeen, int) bool {
	return func(seen map[string]*taskSeen, _ int) bool {
		done := 0
		for _, s := range seen {
			if !s.Finished.IsZero() {
				done++
			}
		}
		return done >= n
	}
}
