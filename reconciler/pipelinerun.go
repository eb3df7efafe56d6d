package reconciler

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"

	"github.com/tektoncd/pipeline/pkg/apis/pipeline"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/pod"
	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/taskgate/taskgate/api/v1alpha1"
	"github.com/taskgate/taskgate/inherit"
	"github.com/taskgate/taskgate/patch"
	"github.com/taskgate/taskgate/policy"
)

const (
	// PipelineTaskName is the only task of every Task's pipeline. The
	// PipelineRun's status.childReferences lists its TaskRun under this name.
	PipelineTaskName = "run"
	// StepName is the step that runs the command. TaskRun status.steps
	// reports it under this name.
	StepName = "main"
)

// cancelPatch sets spec.status, the only PipelineRun field taskgate writes
// after creation. "add" rather than "replace": RFC 6902 replace fails when
// the field is absent, which it is until someone cancels.
const cancelPatch = `[{"op":"add","path":"/spec/status","value":"Cancelled"}]`

// CancelPatch returns the JSON patch (RFC 6902) that cancels a PipelineRun.
// Apply it with types.JSONPatchType; Tekton then stops the TaskRun and
// deletes its pod.
func CancelPatch() []byte {
	return []byte(cancelPatch)
}

// RecordedPatch returns the JSON patch that labels a PipelineRun or TaskRun
// of taskgate's as recorded (v1alpha1.LabelRunRecorded). Both always carry
// labels: the manager selects them by v1alpha1.LabelTask.
func RecordedPatch() []byte {
	b, _ := json.Marshal(patch.AddToMap(true, "/metadata/labels", map[string]string{v1alpha1.LabelRunRecorded: "true"})) // a string map always marshals
	return b
}

// BuildPipelineRun returns the PipelineRun that runs task: one pipeline task
// with one step, configured entirely from task.spec.resolved, and the
// Task's annotations and labels that policy tasks.podMetadata lets through
// to the pod (a nil policy means policy.Default(), which lets none). It is
// created once and never updated (Tekton forbids changing a started run),
// so the result is complete and depends only on task and p: equal Tasks
// give equal PipelineRuns.
//
// The allowlist applies here, at run time, rather than being pinned into
// spec.resolved at admission: a Task's metadata stays editable after
// admission, so only what is copied when the pod is made can be trusted,
// and pinning it would need a new API field for no gain.
func BuildPipelineRun(task *v1alpha1.Task, p *policy.Policy) (*pipelinev1.PipelineRun, error) {
	if task == nil {
		return nil, errors.New("build pipelinerun: task is nil")
	}
	if p == nil {
		p = policy.Default()
	}
	key := task.Namespace + "/" + task.Name
	if err := checkBuildable(task); err != nil {
		return nil, fmt.Errorf("build pipelinerun for task %s: %w", key, err)
	}
	meta := p.TaskPodMetadata(task.Annotations, task.Labels)
	labels, err := pipelineRunLabels(task, meta.Labels)
	if err != nil {
		return nil, fmt.Errorf("build pipelinerun for task %s: %w", key, err)
	}
	// Copy so that the PipelineRun shares no memory with the Task.
	r := task.Spec.Resolved.DeepCopy()
	// The step is the container inherit.RunPod gives, the pod the run
	// guard and admission checked against Pod Security; Tekton names its
	// container step-<step name>, inherit.StepContainerName.
	_, pod := inherit.RunPod(r)
	var step pipelinev1.Step
	step.SetContainerFields(pod.Containers[0])
	step.Name = StepName
	retries := 0
	if task.Spec.Retries != nil {
		retries = int(*task.Spec.Retries)
	}

	return &pipelinev1.PipelineRun{
		TypeMeta: metav1.TypeMeta{
			APIVersion: pipelinev1.SchemeGroupVersion.String(),
			Kind:       "PipelineRun",
		},
		ObjectMeta: metav1.ObjectMeta{
			Name:        task.Name,
			Namespace:   task.Namespace,
			Labels:      labels,
			Annotations: meta.Annotations,
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion:         v1alpha1.GroupVersion.String(),
				Kind:               "Task",
				Name:               task.Name,
				UID:                task.UID,
				Controller:         new(true),
				BlockOwnerDeletion: new(true),
			}},
		},
		Spec: pipelinev1.PipelineRunSpec{
			PipelineSpec: &pipelinev1.PipelineSpec{
				Tasks: []pipelinev1.PipelineTask{{
					Name:    PipelineTaskName,
					Retries: retries,
					TaskSpec: &pipelinev1.EmbeddedTask{TaskSpec: pipelinev1.TaskSpec{
						Steps:   []pipelinev1.Step{step},
						Volumes: pod.Volumes,
					}},
				}},
			},
			Timeouts: timeouts(r.Timeout),
			TaskRunTemplate: pipelinev1.PipelineTaskRunTemplate{
				ServiceAccountName: r.ServiceAccountName,
				PodTemplate:        podTemplate(r),
			},
		},
	}, nil
}

func checkBuildable(task *v1alpha1.Task) error {
	switch {
	case task.Spec.Resolved == nil:
		return errors.New("spec.resolved is not set; the admission webhook writes it when the Task is created")
	case task.Status.ID == 0:
		return errors.New("status.id is not assigned yet")
	case task.UID == "":
		return errors.New("task has no uid to own the pipelinerun")
	case task.Spec.Resolved.Timeout != nil && task.Spec.Resolved.Timeout.Duration < 0:
		return fmt.Errorf("spec.resolved.timeout %s is negative", task.Spec.Resolved.Timeout.Duration)
	}
	return nil
}

// pipelineRunLabels are the Task labels policy allows, then the
// security-group labels from resolved.podLabels, then taskgate's own and
// Tekton's pipeline label: each wins over the ones before. Tekton copies
// them onto the TaskRun and pod. They are validated here because a value
// over 63 characters (a long Task or App name) would otherwise fail later
// inside Tekton.
func pipelineRunLabels(task *v1alpha1.Task, allowed map[string]string) (map[string]string, error) {
	labels := make(map[string]string, len(allowed)+len(task.Spec.Resolved.PodLabels)+4)
	maps.Copy(labels, allowed)
	maps.Copy(labels, task.Spec.Resolved.PodLabels)
	labels[v1alpha1.LabelApp] = task.Spec.AppRef.Name
	labels[v1alpha1.LabelTask] = task.Name
	labels[v1alpha1.LabelTaskID] = strconv.FormatInt(task.Status.ID, 10)
	// What Tekton labels a PipelineRun with an embedded pipeline: with the
	// label set at create, Tekton's first reconcile finds nothing to add
	// and does not update the PipelineRun, one write less per Task.
	labels[pipeline.PipelineLabelKey] = task.Name

	var errs []error
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		for _, msg := range validation.IsQualifiedName(k) {
			errs = append(errs, fmt.Errorf("label key %q: %s", k, msg))
		}
		for _, msg := range validation.IsValidLabelValue(labels[k]) {
			errs = append(errs, fmt.Errorf("label %s value %q: %s", k, labels[k], msg))
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return labels, nil
}

// timeouts always writes the limit, because an unset one means Tekton's
// default-timeout-minutes (60 by default), never "no limit". A nil timeout
// means policy supplied no default; it runs without a limit, as 0s does.
//
// tasks is set along with pipeline: with pipeline alone, Tekton gives the
// TaskRun the cluster default timeout whenever the pipeline timeout is 0 or
// longer than that default, and the run would fail at 60 minutes as an
// ordinary failure.
func timeouts(t *metav1.Duration) *pipelinev1.TimeoutFields {
	var d metav1.Duration
	if t != nil {
		d = *t
	}
	return &pipelinev1.TimeoutFields{Pipeline: new(d), Tasks: new(d)}
}

// podTemplate carries the pod-level settings; nil when there are none, as
// Tekton would leave it.
func podTemplate(r *v1alpha1.ResolvedRun) *pod.PodTemplate {
	if r.PodSecurityContext == nil && len(r.ImagePullSecrets) == 0 {
		return nil
	}
	return &pod.PodTemplate{
		SecurityContext:  r.PodSecurityContext,
		ImagePullSecrets: r.ImagePullSecrets,
	}
}
