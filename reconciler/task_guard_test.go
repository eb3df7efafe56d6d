package reconciler

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/taskgate/taskgate/api/v1alpha1"
	"github.com/taskgate/taskgate/inherit"
	"github.com/taskgate/taskgate/policy"
	"github.com/taskgate/taskgate/workload"
)

// guardApp is App web of namespace shop, changed by each of mods.
func guardApp(mods ...func(*v1alpha1.App)) *v1alpha1.App {
	app := &v1alpha1.App{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop", UID: "app-uid"},
		Spec: v1alpha1.AppSpec{
			Image:           "registry.example.com/shop/web:v1",
			Args:            []string{"bundle", "exec", "puma"},
			ServiceBindings: []v1alpha1.ServiceBinding{{Name: "db", SecretName: "db-creds"}},
		},
	}
	for _, m := range mods {
		m(app)
	}
	return app
}

// admittedTask is a Task of app as the webhooks admit it under p in
// namespace shop, changed by each of mods.
func admittedTask(t *testing.T, app *v1alpha1.App, p *policy.Policy, mods ...func(*v1alpha1.Task)) *v1alpha1.Task {
	t.Helper()
	task := &v1alpha1.Task{
		ObjectMeta: metav1.ObjectMeta{Name: "migrate", Namespace: "shop", UID: "task-uid", OwnerReferences: []metav1.OwnerReference{{
			APIVersion: "taskgate.dev/v1alpha1", Kind: "App", Name: app.Name, UID: app.UID,
		}}},
		Spec: v1alpha1.TaskSpec{AppRef: v1alpha1.AppReference{Name: app.Name}, Command: "rake db:migrate"},
	}
	res := inherit.ResolveTask(app, task, p)
	if len(res.Errors) > 0 {
		t.Fatalf("the Task is not admitted: %v", res.Errors)
	}
	task.Spec.Resolved = res.Resolved
	for _, m := range mods {
		m(task)
	}
	return task
}

func TestRunRefusal(t *testing.T) {
	load := func(body string) *policy.Policy {
		p, err := policy.Load([]byte("apiVersion: taskgate.dev/v1alpha1\nkind: Policy\n" + body))
		if err != nil {
			t.Fatal(err)
		}
		p.ManagerNamespace = "taskgate-system"
		return p
	}
	strict := load("")
	allow := load("tasks: {allowPrivileged: true}")
	audit := load("mode: audit")
	restricted := map[string]string{"pod-security.kubernetes.io/enforce": "restricted"}
	resolved := func(edit func(*v1alpha1.ResolvedRun)) func(*v1alpha1.Task) {
		return func(task *v1alpha1.Task) { edit(task.Spec.Resolved) }
	}
	inNamespace := func(ns string) func(*v1alpha1.Task) {
		return func(task *v1alpha1.Task) { task.Namespace = ns }
	}
	hostPath := resolved(func(r *v1alpha1.ResolvedRun) {
		r.Volumes = append(r.Volumes, corev1.Volume{Name: "root", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/"}}})
	})
	privileged := resolved(func(r *v1alpha1.ResolvedRun) { r.SecurityContext = &corev1.SecurityContext{Privileged: new(true)} })
	privilegedApp := guardApp(func(a *v1alpha1.App) { a.Spec.SecurityContext = &corev1.SecurityContext{Privileged: new(true)} })
	rootApp := guardApp(func(a *v1alpha1.App) {
		a.Spec.SecurityContext = &corev1.SecurityContext{RunAsUser: new(int64(0)), AllowPrivilegeEscalation: new(false)}
	})
	app := guardApp()
	forged := "spec.resolved: Forbidden: "

	tests := []struct {
		name   string
		task   *v1alpha1.Task
		app    *v1alpha1.App // the App as it is now
		labels map[string]string
		policy *policy.Policy
		want   string
	}{
		{name: "admitted", task: admittedTask(t, app, strict), app: app, policy: strict},
		{name: "admitted, in a restricted namespace", task: admittedTask(t, app, strict), app: app, labels: restricted, policy: strict},
		{
			name: "what the Task pinned differs from the App now",
			task: admittedTask(t, app, strict, resolved(func(r *v1alpha1.ResolvedRun) {
				r.Image, r.Command, r.Env = "registry.example.com/shop/web:v0", []string{"/bin/sh", "-c", "true"}, nil
				r.Resources, r.Timeout = corev1.ResourceRequirements{}, nil
			})),
			app: app, policy: strict,
		},
		{
			name: "kube-system", task: admittedTask(t, app, strict, inNamespace("kube-system")), app: app, policy: strict,
			want: "metadata.namespace: Forbidden: taskgate's webhooks do not admit Tasks in namespace kube-system, so taskgate runs none there; create the Task in an application namespace",
		},
		{
			name: "kube-node-lease", task: admittedTask(t, app, allow, inNamespace("kube-node-lease")), app: app, policy: allow,
			want: "metadata.namespace: Forbidden: taskgate's webhooks do not admit Tasks in namespace kube-node-lease, so taskgate runs none there; create the Task in an application namespace",
		},
		{
			name: "the manager's namespace, even in audit mode", task: admittedTask(t, app, audit, inNamespace("taskgate-system")), app: app, policy: audit,
			want: "metadata.namespace: Forbidden: taskgate's webhooks do not admit Tasks in namespace taskgate-system, so taskgate runs none there; create the Task in an application namespace",
		},
		{
			name: "never resolved", task: admittedTask(t, app, allow, func(task *v1alpha1.Task) { task.Spec.Resolved = nil }), app: app, policy: allow,
			want: "spec.resolved: Required value: the Task was admitted without taskgate's mutating webhook; delete it and create it again",
		},
		{
			name: "hostPath volume", task: admittedTask(t, app, strict, hostPath), app: app, policy: strict,
			want: "spec.resolved.volumes[1].hostPath: Forbidden: hostPath is not allowed for Tasks by cluster policy tasks.allowPrivileged; remove it or ask a cluster admin",
		},
		{
			name: "privileged and hostPath", task: admittedTask(t, app, strict, privileged, hostPath), app: app, policy: strict,
			want: "[spec.resolved.securityContext.privileged: Forbidden: privileged is not allowed for Tasks by cluster policy tasks.allowPrivileged; remove it or ask a cluster admin, " +
				"spec.resolved.volumes[1].hostPath: Forbidden: hostPath is not allowed for Tasks by cluster policy tasks.allowPrivileged; remove it or ask a cluster admin]",
		},
		{name: "privileged, as the App and policy allow", task: admittedTask(t, privilegedApp, allow), app: privilegedApp, policy: allow},
		{name: "privileged, as the App says, in audit mode", task: admittedTask(t, privilegedApp, audit), app: privilegedApp, policy: audit},
		{
			name: "privileged, forged, in audit mode", task: admittedTask(t, app, audit, privileged), app: app, policy: audit,
			want: forged + "not what App web resolves to now in securityContext: spec.resolved was not written by taskgate, or the App changed since; create the Task again",
		},
		{
			name: "the App is gone", task: admittedTask(t, app, strict), policy: strict,
			want: `spec.appRef.name: Not found: "web"; the Task runs only with the App that owns it`,
		},
		{
			name: "another App of the name", task: admittedTask(t, app, strict), app: guardApp(func(a *v1alpha1.App) { a.UID = "new-uid" }), policy: strict,
			want: "spec.appRef: Forbidden: App web (uid new-uid) is not the App this Task was created for; create the Task again to run the App",
		},
		{
			name: "the manager's ServiceAccount", task: admittedTask(t, app, strict, resolved(func(r *v1alpha1.ResolvedRun) { r.ServiceAccountName = "taskgate" })),
			app: app, policy: strict,
			want: forged + "not what App web resolves to now in serviceAccountName: spec.resolved was not written by taskgate, or the App changed since; create the Task again",
		},
		{
			name: "every security field forged",
			task: admittedTask(t, app, allow, resolved(func(r *v1alpha1.ResolvedRun) {
				r.PodSecurityContext = &corev1.PodSecurityContext{RunAsUser: new(int64(0))}
				r.Volumes = []corev1.Volume{{Name: "binding-db", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "admin-token"}}}}
				r.VolumeMounts = nil
				r.EnvFrom = []corev1.EnvFromSource{{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "admin"}}}}
				r.ImagePullSecrets = []corev1.LocalObjectReference{{Name: "pull"}}
				r.PodLabels = map[string]string{"taskgate.dev/app": "web", "taskgate.dev/sg-public-egress": "true"}
			})),
			app: app, policy: allow,
			want: forged + "not what App web resolves to now in podSecurityContext, volumes, volumeMounts, envFrom, imagePullSecrets, podLabels: spec.resolved was not written by taskgate, or the App changed since; create the Task again",
		},
		{
			name: "the App's security context changed since", task: admittedTask(t, app, strict), app: rootApp, policy: strict,
			want: forged + "not what App web resolves to now in securityContext: spec.resolved was not written by taskgate, or the App changed since; create the Task again",
		},
		{
			name: "root, once the namespace is restricted", task: admittedTask(t, rootApp, strict), app: rootApp, labels: restricted, policy: strict,
			want: `[spec.resolved.securityContext.capabilities.drop: Forbidden: violates PodSecurity "restricted:latest" (namespace label pod-security.kubernetes.io/enforce): ` +
				`unrestricted capabilities (container "step-main" must set securityContext.capabilities.drop=["ALL"]); drop ["ALL"] and add at most NET_BIND_SERVICE, ` +
				`or run the App in a namespace whose pod-security.kubernetes.io/enforce level allows it, ` +
				`spec.resolved.securityContext.runAsUser: Forbidden: violates PodSecurity "restricted:latest" (namespace label pod-security.kubernetes.io/enforce): ` +
				`runAsUser=0 (container "step-main" must not set runAsUser=0); set a non-zero runAsUser, or run the App in a namespace whose pod-security.kubernetes.io/enforce level allows it]`,
		},
		{name: "root, in a baseline namespace", task: admittedTask(t, rootApp, strict), app: rootApp, labels: map[string]string{"pod-security.kubernetes.io/enforce": "baseline"}, policy: strict},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			task := tt.task.DeepCopy()
			if got := RunRefusal(RunFacts{Task: task, App: tt.app, NamespaceLabels: tt.labels, Policy: tt.policy}); got != tt.want {
				t.Errorf("RunRefusal() =\n%q\nwant\n%q", got, tt.want)
			}
		})
	}
}

// TestRunRefusalFromAWorkload: a Task of an App from a Deployment runs as
// admitted while the Deployment's container stays the same, and is refused
// once the Deployment, or its container, is gone, or what it lets a pod
// do has changed since.
func TestRunRefusalFromAWorkload(t *testing.T) {
	p, err := policy.Load([]byte("apiVersion: taskgate.dev/v1alpha1\nkind: Policy\n"))
	if err != nil {
		t.Fatal(err)
	}
	app := guardApp(func(a *v1alpha1.App) {
		a.Spec.Image, a.Spec.Args = "", nil
		a.Spec.From = &v1alpha1.WorkloadRef{Kind: v1alpha1.WorkloadDeployment, Name: "web"}
	})
	deployed := &workload.Container{
		Ref: v1alpha1.WorkloadRef{Kind: v1alpha1.WorkloadDeployment, Name: "web", Container: "app"},
		Pod: corev1.PodSpec{ServiceAccountName: "web", Volumes: []corev1.Volume{
			{Name: "creds", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "web-creds"}}},
		}},
		Container: corev1.Container{Name: "app", Image: "registry.example.com/shop/web:v1",
			VolumeMounts: []corev1.VolumeMount{{Name: "creds", MountPath: "/etc/creds"}}},
		Image: "registry.example.com/shop/web:v1@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", Pinned: true,
	}
	task := &v1alpha1.Task{
		ObjectMeta: metav1.ObjectMeta{Name: "migrate", Namespace: "shop", UID: "task-uid", OwnerReferences: []metav1.OwnerReference{{
			APIVersion: "taskgate.dev/v1alpha1", Kind: "App", Name: app.Name, UID: app.UID,
		}}},
		Spec: v1alpha1.TaskSpec{AppRef: v1alpha1.AppReference{Name: app.Name}, Command: "rake db:migrate"},
	}
	res := inherit.ResolveTaskFrom(app, deployed, task, p, inherit.Namespace{})
	if len(res.Errors) > 0 {
		t.Fatalf("the Task is not admitted: %v", res.Errors)
	}
	task.Spec.Resolved = res.Resolved

	rolledOut := deployed.DeepCopy()
	rolledOut.Image = "registry.example.com/shop/web:v2@sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
	newIdentity := deployed.DeepCopy()
	newIdentity.Pod.ServiceAccountName = "admin"
	for _, tt := range []struct {
		name     string
		workload *workload.Container
		err      *field.Error
		want     string
	}{
		{name: "as admitted", workload: deployed},
		{name: "a new image since: the Task keeps the one it pinned", workload: rolledOut},
		{name: "a new ServiceAccount since", workload: newIdentity,
			want: "spec.resolved: Forbidden: not what App web resolves to now in serviceAccountName: spec.resolved was not written by taskgate, or the App or deployment/web changed since; create the Task again"},
		{name: "the Deployment is gone",
			err:  &field.Error{Type: field.ErrorTypeNotFound, Field: "spec.from.name", BadValue: "web", Detail: "deployment/web does not exist in namespace shop"},
			want: `spec.appRef: Not found: App web (from deployment/web): spec.from.name: Not found: "web": deployment/web does not exist in namespace shop`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := RunRefusal(RunFacts{Task: task.DeepCopy(), App: app, Policy: p, Workload: tt.workload, WorkloadError: tt.err})
			if got != tt.want {
				t.Errorf("RunRefusal() =\n%q\nwant\n%q", got, tt.want)
			}
		})
	}
}
