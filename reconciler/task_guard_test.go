package reconciler

import (
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/taskgate/taskgate/api/v1alpha1"
	"github.com/taskgate/taskgate/policy"
)

func TestRunRefusal(t *testing.T) {
	load := func(doc string) *policy.Policy {
		p, err := policy.Load([]byte(doc))
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	strict := policy.Default()
	allow := load("apiVersion: taskgate.dev/v1alpha1\nkind: Policy\ntasks: {allowPrivileged: true}\n")
	audit := load("apiVersion: taskgate.dev/v1alpha1\nkind: Policy\nmode: audit\n")
	with := func(edit func(*v1alpha1.ResolvedRun)) *v1alpha1.Task {
		task := minimalTask()
		edit(task.Spec.Resolved)
		return task
	}
	hostPath := func(r *v1alpha1.ResolvedRun) {
		r.Volumes = append(r.Volumes,
			corev1.Volume{Name: "db", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "db"}}},
			corev1.Volume{Name: "root", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/"}}})
	}
	privileged := func(r *v1alpha1.ResolvedRun) {
		r.SecurityContext = &corev1.SecurityContext{Privileged: new(true)}
	}
	unresolved := minimalTask()
	unresolved.Spec.Resolved = nil

	tests := []struct {
		name   string
		task   *v1alpha1.Task
		policy *policy.Policy
		want   string
	}{
		{name: "resolved by the webhook", task: minimalTask(), policy: strict},
		{name: "not privileged", task: with(func(r *v1alpha1.ResolvedRun) { r.SecurityContext = &corev1.SecurityContext{Privileged: new(false)} }), policy: strict},
		{
			name: "never resolved", task: unresolved, policy: allow,
			want: "spec.resolved: Required value: the Task was admitted without taskgate's mutating webhook; delete it and create it again",
		},
		{
			name: "hostPath volume", task: with(hostPath), policy: strict,
			want: "spec.resolved.volumes[1].hostPath: Forbidden: hostPath is not allowed for Tasks by cluster policy tasks.allowPrivileged; remove it or ask a cluster admin",
		},
		{
			name: "privileged and hostPath", task: with(func(r *v1alpha1.ResolvedRun) { privileged(r); hostPath(r) }), policy: strict,
			want: "[spec.resolved.securityContext.privileged: Forbidden: privileged is not allowed for Tasks by cluster policy tasks.allowPrivileged; remove it or ask a cluster admin, " +
				"spec.resolved.volumes[1].hostPath: Forbidden: hostPath is not allowed for Tasks by cluster policy tasks.allowPrivileged; remove it or ask a cluster admin]",
		},
		{name: "privileged allowed by policy", task: with(privileged), policy: allow},
		{name: "privileged in audit mode", task: with(privileged), policy: audit},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := RunRefusal(tt.task, tt.policy); got != tt.want {
				t.Errorf("RunRefusal() = %q, want %q", got, tt.want)
			}
		})
	}
}
