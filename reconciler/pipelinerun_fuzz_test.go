package reconciler

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"

	"github.com/taskgate/taskgate/api/v1alpha1"
)

// FuzzBuildPipelineRun builds PipelineRuns from arbitrary Tasks. The
// builder must never panic; when it builds, the same Task must give the
// same PipelineRun, owned by the Task and named after it, that survives a
// JSON round trip unchanged (what the apiserver stores is what was built),
// and that shares no memory with the Task. Its pod gets nothing
// spec.resolved does not give it: spec.resolved's ServiceAccount (never
// another, such as the manager's), security contexts and volumes, and no
// host namespace.
func FuzzBuildPipelineRun(f *testing.F) {
	for _, task := range []*v1alpha1.Task{minimalTask(), fullTask()} {
		raw, err := json.Marshal(task)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	for _, s := range []string{
		`{"metadata":{"name":"t","namespace":"n","uid":"u"},"spec":{"appRef":{"name":"a"}}}`,
		`{"metadata":{"name":"t","namespace":"n","uid":"u","annotations":{"localcluster.taskgate.dev/run-time":"5s"}},"spec":{"appRef":{"name":"a"},"retries":3,"resolved":{"image":"x","timeout":"-1s"}}}`,
		`{"metadata":{"name":"t"},"spec":{"resolved":{"image":"x","volumes":[{"name":"v"}],"podLabels":{"a":"b"}}},"status":{"id":7}}`,
		`{}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		task := &v1alpha1.Task{}
		if err := json.Unmarshal(raw, task); err != nil {
			return // not a Task; the builder only ever sees decoded ones
		}
		before := task.DeepCopy()
		pr, err := BuildPipelineRun(task, nil)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "build pipelinerun") {
				t.Fatalf("error without context: %v", err)
			}
			return
		}
		if !equality.Semantic.DeepEqual(before, task) {
			t.Fatalf("BuildPipelineRun modified the Task")
		}
		again, err := BuildPipelineRun(task, nil)
		if err != nil {
			t.Fatalf("second build failed: %v", err)
		}
		if diff := cmp.Diff(pr, again); diff != "" {
			t.Fatalf("two builds differ:\n%s", diff)
		}
		if pr.Name != task.Name || pr.Namespace != task.Namespace || len(pr.OwnerReferences) != 1 ||
			pr.OwnerReferences[0].UID != task.UID || pr.OwnerReferences[0].Controller == nil || !*pr.OwnerReferences[0].Controller {
			t.Fatalf("PipelineRun %s/%s is not named after and controlled by Task %s/%s: %+v", pr.Namespace, pr.Name, task.Namespace, task.Name, pr.OwnerReferences)
		}
		assertNoMorePower(t, task.Spec.Resolved, pr)
		encoded, err := json.Marshal(pr)
		if err != nil {
			t.Fatalf("encoding: %v", err)
		}
		decoded := &pipelinev1.PipelineRun{}
		if err := json.Unmarshal(encoded, decoded); err != nil {
			t.Fatalf("decoding: %v", err)
		}
		if !equality.Semantic.DeepEqual(pr, decoded) {
			t.Fatalf("the PipelineRun changes in a JSON round trip:\n%s", cmp.Diff(pr, decoded))
		}
		// Writing to the PipelineRun must not reach the Task.
		if len(pr.Spec.PipelineSpec.Tasks[0].TaskSpec.Steps[0].Env) > 0 {
			pr.Spec.PipelineSpec.Tasks[0].TaskSpec.Steps[0].Env[0].Name = "CHANGED"
			if !equality.Semantic.DeepEqual(before, task) {
				t.Fatalf("the PipelineRun shares memory with the Task")
			}
		}
	})
}

// assertNoMorePower fails when the pod of pr could do more than run says.
func assertNoMorePower(t *testing.T, run *v1alpha1.ResolvedRun, pr *pipelinev1.PipelineRun) {
	t.Helper()
	tmpl := pr.Spec.TaskRunTemplate
	if tmpl.ServiceAccountName != run.ServiceAccountName {
		t.Fatalf("the pod runs as ServiceAccount %q, spec.resolved says %q", tmpl.ServiceAccountName, run.ServiceAccountName)
	}
	if pt := tmpl.PodTemplate; pt != nil {
		if pt.HostNetwork || len(pt.Volumes) > 0 || pt.RuntimeClassName != nil || pt.AutomountServiceAccountToken != nil {
			t.Fatalf("the pod template adds the host network, volumes, a runtime class or a token mount: %+v", pt)
		}
		if !equality.Semantic.DeepEqual(pt.SecurityContext, run.PodSecurityContext) {
			t.Fatalf("the pod's security context %+v is not spec.resolved's %+v", pt.SecurityContext, run.PodSecurityContext)
		}
	} else if run.PodSecurityContext != nil {
		t.Fatalf("spec.resolved's pod security context %+v is lost", run.PodSecurityContext)
	}
	ts := pr.Spec.PipelineSpec.Tasks[0].TaskSpec
	if len(pr.Spec.PipelineSpec.Tasks) != 1 || len(ts.Steps) != 1 || len(ts.Sidecars) != 0 || ts.StepTemplate != nil {
		t.Fatalf("the PipelineRun runs more than the one step: %+v", pr.Spec.PipelineSpec)
	}
	if step := ts.Steps[0]; !equality.Semantic.DeepEqual(step.SecurityContext, run.SecurityContext) ||
		!equality.Semantic.DeepEqual(step.VolumeMounts, run.VolumeMounts) || !equality.Semantic.DeepEqual(step.EnvFrom, run.EnvFrom) {
		t.Fatalf("the step's security context, mounts or envFrom are not spec.resolved's: %+v", step)
	}
	if !equality.Semantic.DeepEqual([]corev1.Volume(ts.Volumes), run.Volumes) {
		t.Fatalf("the pod's volumes %+v are not spec.resolved's %+v", ts.Volumes, run.Volumes)
	}
}
