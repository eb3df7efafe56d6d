package bench

import (
	"testing"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

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
