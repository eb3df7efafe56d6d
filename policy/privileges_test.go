package policy

import (
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func TestPodPrivilegedUses(t *testing.T) {
	spec := &corev1.PodSpec{
		HostNetwork: true,
		HostPID:     true,
		Volumes: []corev1.Volume{
			{Name: "data", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
			{Name: "host", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/"}}},
		},
		InitContainers: []corev1.Container{{Name: "init", SecurityContext: &corev1.SecurityContext{Privileged: ptr(true)}}},
		Containers: []corev1.Container{
			{Name: "plain", SecurityContext: &corev1.SecurityContext{Privileged: ptr(false)}},
			{Name: "root", SecurityContext: &corev1.SecurityContext{Privileged: ptr(true)}},
		},
	}
	got := PodPrivilegedUses(spec, field.NewPath("spec", "template", "spec"))
	want := []string{
		"spec.template.spec.hostNetwork hostNetwork",
		"spec.template.spec.hostPID hostPID",
		"spec.template.spec.volumes[1].hostPath hostPath",
		"spec.template.spec.initContainers[0].securityContext.privileged privileged",
		"spec.template.spec.containers[1].securityContext.privileged privileged",
	}
	gotS := make([]string, len(got))
	for i, u := range got {
		gotS[i] = u.Path.String() + " " + u.Setting
	}
	if !reflect.DeepEqual(gotS, want) {
		t.Errorf("PodPrivilegedUses:\n got %q\nwant %q", gotS, want)
	}
	if uses := PodPrivilegedUses(&corev1.PodSpec{Containers: []corev1.Container{{Name: "c"}}}, field.NewPath("spec")); uses != nil {
		t.Errorf("a plain pod: got %v, want none", uses)
	}
}

func TestValidatePrivileges(t *testing.T) {
	uses := SecurityContextUses(&corev1.SecurityContext{Privileged: ptr(true)}, field.NewPath("spec", "securityContext"))
	tests := []struct {
		name     string
		policy   string
		errs     []string
		warnings []string
	}{
		{
			name: "forbidden by default",
			errs: []string{"spec.securityContext.privileged: Forbidden: privileged is not allowed for Tasks by cluster policy tasks.allowPrivileged; remove it or ask a cluster admin"},
		},
		{name: "allowed", policy: "tasks: {allowPrivileged: true}"},
		{
			name:     "audit",
			policy:   "mode: audit",
			warnings: []string{"audit: would reject spec.securityContext.privileged: privileged (tasks.allowPrivileged: false)"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			errs, warnings := load(t, tt.policy).ValidatePrivileges(uses)
			assertErrors(t, errs, tt.errs)
			if !reflect.DeepEqual(warnings, tt.warnings) {
				t.Errorf("warnings = %q, want %q", warnings, tt.warnings)
			}
		})
	}
}
