package workload

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/taskgate/taskgate/api/v1alpha1"
)

func template(annotation string, names ...string) *corev1.PodTemplateSpec {
	t := &corev1.PodTemplateSpec{}
	if annotation != "" {
		t.Annotations = map[string]string{DefaultContainerAnnotation: annotation}
	}
	for _, n := range names {
		t.Spec.Containers = append(t.Spec.Containers, corev1.Container{Name: n})
	}
	return t
}

func TestChoose(t *testing.T) {
	from := field.NewPath("spec", "from")
	for _, tc := range []struct {
		name       string
		container  string
		annotation string
		names      []string
		want       int
		wantErr    string
	}{
		{"first by default", "", "", []string{"app", "proxy"}, 0, ""},
		{"annotation", "", "proxy", []string{"app", "proxy"}, 1, ""},
		{"named wins over annotation", "app", "proxy", []string{"app", "proxy"}, 0, ""},
		{"stale annotation falls back to the first, as kubectl does", "", "gone", []string{"app", "proxy"}, 0, ""},
		{"named container missing", "nope", "", []string{"app", "proxy"}, -1,
			`spec.from.container: Not found: "nope": deployment/web has no such container; set spec.from.container to one of app, proxy, or leave it empty for app`},
		{"named container missing, the annotation's is the default", "nope", "proxy", []string{"app", "proxy"}, -1,
			`spec.from.container: Not found: "nope": deployment/web has no such container; set spec.from.container to one of app, proxy, or leave it empty for proxy`},
		{"no containers", "", "", nil, -1, `spec.from.name: Invalid value: "web": deployment/web has no containers`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ref := v1alpha1.WorkloadRef{Kind: v1alpha1.WorkloadDeployment, Name: "web", Container: tc.container}
			got, err := Choose(ref, template(tc.annotation, tc.names...), from)
			gotErr := ""
			if err != nil {
				gotErr = err.Error()
			}
			if got != tc.want || gotErr != tc.wantErr {
				t.Fatalf("Choose() = %d, %q; want %d, %q", got, gotErr, tc.want, tc.wantErr)
			}
		})
	}
}

func TestTemplate(t *testing.T) {
	sel := &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}
	tmpl := corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app"}}}}
	for _, tc := range []struct {
		kind    string
		obj     client.Object
		wantSel bool
	}{
		{v1alpha1.WorkloadDeployment, &appsv1.Deployment{Spec: appsv1.DeploymentSpec{Selector: sel, Template: tmpl}}, true},
		{v1alpha1.WorkloadStatefulSet, &appsv1.StatefulSet{Spec: appsv1.StatefulSetSpec{Selector: sel, Template: tmpl}}, true},
		{v1alpha1.WorkloadDaemonSet, &appsv1.DaemonSet{Spec: appsv1.DaemonSetSpec{Selector: sel, Template: tmpl}}, true},
		{v1alpha1.WorkloadCronJob, &batchv1.CronJob{Spec: batchv1.CronJobSpec{JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: tmpl}}}}, false},
	} {
		t.Run(tc.kind, func(t *testing.T) {
			if NewObject(tc.kind) == nil {
				t.Fatalf("NewObject(%s) = nil", tc.kind)
			}
			got, gotSel := Template(tc.obj)
			if got == nil || len(got.Spec.Containers) != 1 || got.Spec.Containers[0].Name != "app" || (gotSel != nil) != tc.wantSel {
				t.Fatalf("Template() = %+v, %v; want the template and selector %v", got, gotSel, tc.wantSel)
			}
		})
	}
	if NewObject("Job") != nil {
		t.Fatal("NewObject(Job) is not nil: taskgate takes containers only from the four kinds")
	}
}
