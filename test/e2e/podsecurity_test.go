package e2e

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	admissionregv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/taskgate/taskgate/api/v1alpha1"
)

// podSecurityCase is one Pod Security violation an App can express, as
// the App's spec fields (YAML), and the field and PodSecurity reason of
// each error it gets at baseline and at restricted.
type podSecurityCase struct {
	name                 string
	spec                 string
	baseline, restricted []string
}

var podSecurityCases = []podSecurityCase{
	{"privileged", `securityContext: {privileged: true}`,
		[]string{`spec.securityContext.privileged|privileged (container "step-main" must not set securityContext.privileged=true)`},
		[]string{`spec.securityContext.privileged|privileged (container "step-main" must not set securityContext.privileged=true)`,
			`spec.securityContext.allowPrivilegeEscalation|allowPrivilegeEscalation != false (container "step-main" must set securityContext.allowPrivilegeEscalation=false)`,
			`spec.securityContext.capabilities.drop|unrestricted capabilities (container "step-main" must set securityContext.capabilities.drop=["ALL"])`}},
	{"capabilities", `securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL], add: [SYS_ADMIN, NET_ADMIN, SYS_PTRACE]}}`,
		[]string{`spec.securityContext.capabilities.add|non-default capabilities (container "step-main" must not include "NET_ADMIN", "SYS_ADMIN", "SYS_PTRACE" in securityContext.capabilities.add)`},
		[]string{`spec.securityContext.capabilities.add|unrestricted capabilities (container "step-main" must not include "NET_ADMIN", "SYS_ADMIN", "SYS_PTRACE" in securityContext.capabilities.add)`}},
	{"seccomp Unconfined", `securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}, seccompProfile: {type: Unconfined}}`,
		[]string{`spec.securityContext.seccompProfile.type|seccompProfile (container "step-main" must not set securityContext.seccompProfile.type to "Unconfined")`},
		[]string{`spec.securityContext.seccompProfile.type|seccompProfile (container "step-main" must not set securityContext.seccompProfile.type to "Unconfined")`}},
	{"pod seccomp Unconfined", `podSecurityContext: {runAsNonRoot: true, seccompProfile: {type: Unconfined}}`,
		[]string{`spec.podSecurityContext.seccompProfile.type|seccompProfile (pod must not set securityContext.seccompProfile.type to "Unconfined")`},
		[]string{`spec.podSecurityContext.seccompProfile.type|seccompProfile (pod must not set securityContext.seccompProfile.type to "Unconfined")`}},
	{"AppArmor Unconfined", `podSecurityContext: {runAsNonRoot: true, seccompProfile: {type: RuntimeDefault}, appArmorProfile: {type: Unconfined}}`,
		[]string{`spec.podSecurityContext.appArmorProfile.type|forbidden AppArmor profile (pod must not set AppArmor profile type to "Unconfined")`},
		[]string{`spec.podSecurityContext.appArmorProfile.type|forbidden AppArmor profile (pod must not set AppArmor profile type to "Unconfined")`}},
	{"SELinux spc_t", `securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}, seLinuxOptions: {type: spc_t}}`,
		[]string{`spec.securityContext.seLinuxOptions|seLinuxOptions (container "step-main" set forbidden securityContext.seLinuxOptions: type "spc_t")`},
		[]string{`spec.securityContext.seLinuxOptions|seLinuxOptions (container "step-main" set forbidden securityContext.seLinuxOptions: type "spc_t")`}},
	{"procMount Unmasked", `securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}, procMount: Unmasked}`,
		[]string{`spec.securityContext.procMount|procMount (container "step-main" must not set securityContext.procMount to "Unmasked")`},
		[]string{`spec.securityContext.procMount|procMount (container "step-main" must not set securityContext.procMount to "Unmasked")`}},
	{"sysctls", `podSecurityContext: {runAsNonRoot: true, seccompProfile: {type: RuntimeDefault}, sysctls: [{name: kernel.msgmax, value: "65536"}]}`,
		[]string{`spec.podSecurityContext.sysctls|forbidden sysctls (kernel.msgmax)`},
		[]string{`spec.podSecurityContext.sysctls|forbidden sysctls (kernel.msgmax)`}},
	{"Windows hostProcess", `securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}, windowsOptions: {hostProcess: true}}`,
		[]string{`spec.securityContext.windowsOptions.hostProcess|hostProcess (container "step-main" must not set securityContext.windowsOptions.hostProcess=true)`},
		[]string{`spec.securityContext.windowsOptions.hostProcess|hostProcess (container "step-main" must not set securityContext.windowsOptions.hostProcess=true)`}},
	{"root with privilege escalation", `securityContext: {runAsUser: 0, allowPrivilegeEscalation: true}`,
		nil,
		[]string{`spec.securityContext.allowPrivilegeEscalation|allowPrivilegeEscalation != false (container "step-main" must set securityContext.allowPrivilegeEscalation=false)`,
			`spec.securityContext.capabilities.drop|unrestricted capabilities (container "step-main" must set securityContext.capabilities.drop=["ALL"])`,
			`spec.securityContext.runAsUser|runAsUser=0 (container "step-main" must not set runAsUser=0)`}},
	{"runAsNonRoot false", `securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}, runAsNonRoot: false}`,
		nil,
		[]string{`spec.securityContext.runAsNonRoot|runAsNonRoot != true (container "step-main" must not set securityContext.runAsNonRoot=false)`}},
	{"pod root", `podSecurityContext: {runAsUser: 0, runAsNonRoot: true, seccompProfile: {type: RuntimeDefault}}`,
		nil,
		[]string{`spec.podSecurityContext.runAsUser|runAsUser=0 (pod must not set runAsUser=0)`}},
	{"no seccomp profile", "podSecurityContext: {runAsNonRoot: true}\n  securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}",
		nil,
		[]string{`spec.securityContext.seccompProfile.type|seccompProfile (pod or container "step-main" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")`}},
	{"a baseline capability", `securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL], add: [CHOWN]}}`,
		nil,
		[]string{`spec.securityContext.capabilities.add|unrestricted capabilities (container "step-main" must not include "CHOWN" in securityContext.capabilities.add)`}},
}

// TestPodSecurityStandards: an App is denied, at its field and with
// PodSecurity's reason, each Pod Security violation of the namespace's
// enforce level or the policy's tasks.podSecurity, whichever is stricter,
// and admitted where both are privileged.
func TestPodSecurityStandards(t *testing.T) {
	c := newClient(t)
	ctx := context.Background()
	labelled := func(level string) string {
		ns := newNamespace(t, c)
		patch := []byte(fmt.Sprintf(`{"metadata":{"labels":{"pod-security.kubernetes.io/enforce":%q}}}`, level))
		if err := c.Patch(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, client.RawPatch("application/merge-patch+json", patch)); err != nil {
			t.Fatalf("labelling namespace %s: %v", ns, err)
		}
		return ns
	}
	plain, baseline, restricted, privileged := newNamespace(t, c), labelled("baseline"), labelled("restricted"), labelled("privileged")
	t.Cleanup(func() { resetPolicy(t, c) })

	create := func(ns, name, spec string) (*v1alpha1.App, error) {
		app := &v1alpha1.App{}
		doc := "metadata: {name: " + name + ", namespace: " + ns + "}\nspec:\n  image: registry.example.com/shop/web:v1\n  args: [rake]\n  " + spec + "\n"
		if err := yaml.UnmarshalStrict([]byte(doc), app); err != nil {
			t.Fatalf("the case's App: %v", err)
		}
		return app, c.Create(ctx, app, client.DryRunAll)
	}
	// check creates the App of tc in ns and wants exactly the errors of
	// want, each "field|reason", at level from source.
	check := func(t *testing.T, ns string, tc podSecurityCase, want []string, level, source string) {
		_, err := create(ns, "app", tc.spec)
		if len(want) == 0 {
			if err != nil {
				t.Fatalf("denied at %s: %v", level, err)
			}
			return
		}
		var status apierrors.APIStatus
		if !errors.As(err, &status) || status.Status().Details == nil {
			t.Fatalf("err = %v, want the App invalid", err)
		}
		var got []string
		for _, cause := range status.Status().Details.Causes {
			prefix := fmt.Sprintf("Forbidden: violates PodSecurity %q (%s): ", level, source)
			msg, ok := strings.CutPrefix(cause.Message, prefix)
			if !ok {
				t.Fatalf("%s: %q does not start with %q", cause.Field, cause.Message, prefix)
			}
			reason, _, _ := strings.Cut(msg, "; ")
			got = append(got, cause.Field+"|"+reason)
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Fatalf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}

	// The default policy: baseline, wherever the namespace says less.
	// (It forbids privileged itself, as TestTaskGetsNoPowerOverItsNode
	// shows.)
	for _, tc := range podSecurityCases[1:] {
		t.Run("policy baseline/"+tc.name, func(t *testing.T) {
			check(t, plain, tc, tc.baseline, "baseline:latest", "policy tasks.podSecurity")
		})
	}
	t.Run("the whole message", func(t *testing.T) {
		_, err := create(plain, "sysadmin", `securityContext: {capabilities: {add: [SYS_ADMIN]}}`)
		want := `admission webhook "apps.taskgate.dev" denied the request: App.taskgate.dev "sysadmin" is invalid: spec.securityContext.capabilities.add: Forbidden: violates PodSecurity "baseline:latest" (policy tasks.podSecurity): ` +
			`non-default capabilities (container "step-main" must not include "SYS_ADMIN" in securityContext.capabilities.add); ` +
			`add only capabilities the baseline level allows (such as CHOWN, KILL or NET_BIND_SERVICE), or ask a cluster admin for a tasks.podSecurity level that allows it`
		if err == nil || err.Error() != want {
			t.Fatalf("err = %v\nwant %s", err, want)
		}
	})

	// A privileged policy: the namespace's label decides.
	mustKubectl(t, policyConfigMap("apiVersion: taskgate.dev/v1alpha1\nkind: Policy\ntasks: {podSecurity: privileged}"), "apply", "-f", "-")
	eventually(t, 30*time.Second, "the privileged policy to load", func() (bool, error) {
		_, err := create(privileged, "probe", `securityContext: {privileged: true}`)
		return err == nil, err
	})
	for _, tc := range podSecurityCases {
		t.Run("namespace baseline/"+tc.name, func(t *testing.T) {
			check(t, baseline, tc, tc.baseline, "baseline:latest", "namespace label pod-security.kubernetes.io/enforce")
		})
		t.Run("namespace restricted/"+tc.name, func(t *testing.T) {
			check(t, restricted, tc, tc.restricted, "restricted:latest", "namespace label pod-security.kubernetes.io/enforce")
		})
		t.Run("privileged/"+tc.name, func(t *testing.T) {
			check(t, privileged, tc, nil, "privileged:latest", "")
		})
	}

	// A Task of an App admitted while the namespace allowed it is denied
	// once the namespace is restricted, at spec.appRef, naming the App.
	t.Run("a Task of an App the namespace no longer allows", func(t *testing.T) {
		ns := labelled("privileged")
		newApp(t, c, ns, "root", func(a *v1alpha1.App) {
			a.Spec.SecurityContext = &corev1.SecurityContext{RunAsUser: new(int64(0)), AllowPrivilegeEscalation: new(false),
				Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}}
		})
		patch := []byte(`{"metadata":{"labels":{"pod-security.kubernetes.io/enforce":"restricted"}}}`)
		if err := c.Patch(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, client.RawPatch("application/merge-patch+json", patch)); err != nil {
			t.Fatal(err)
		}
		task := &v1alpha1.Task{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "migrate"}, Spec: v1alpha1.TaskSpec{AppRef: v1alpha1.AppReference{Name: "root"}, Command: "true"}}
		want := `denied the request: Task.taskgate.dev "migrate" is invalid: spec.appRef: Forbidden: App root: spec.securityContext.runAsUser: Forbidden: ` +
			`violates PodSecurity "restricted:latest" (namespace label pod-security.kubernetes.io/enforce): runAsUser=0 (container "step-main" must not set runAsUser=0); ` +
			`set a non-zero runAsUser, or run the App in a namespace whose pod-security.kubernetes.io/enforce level allows it`
		eventually(t, 30*time.Second, "the namespace's new label to reach the webhook", func() (bool, error) {
			err := c.Create(ctx, task.DeepCopy(), client.DryRunAll)
			return err != nil && strings.HasSuffix(err.Error(), want), fmt.Errorf("err = %v, want it to end %s", err, want)
		})
	})
}

// TestForgedTaskInSkippedNamespaceNeverRuns: the webhooks skip
// kube-system, kube-node-lease and the manager's namespace, so a Task
// created there keeps whatever spec.resolved its author wrote, the
// manager's own ServiceAccount say. The reconciler refuses it: no
// PipelineRun, a Refused condition and a Refused Event.
func TestForgedTaskInSkippedNamespaceNeverRuns(t *testing.T) {
	c := newClient(t)
	ctx := context.Background()
	for _, ns := range []string{"kube-system", "kube-node-lease", managerNamespace} {
		t.Run(ns, func(t *testing.T) {
			task := &v1alpha1.Task{
				ObjectMeta: metav1.ObjectMeta{Namespace: ns, GenerateName: "forged-"},
				Spec: v1alpha1.TaskSpec{
					AppRef:  v1alpha1.AppReference{Name: "web"},
					Command: "id",
					Resolved: &v1alpha1.ResolvedRun{
						Image:              "registry.example.com/shop/web:v1",
						Command:            []string{"/bin/sh", "-c", "id"},
						ServiceAccountName: "taskgate",
					},
				},
			}
			if err := c.Create(ctx, task); err != nil {
				t.Fatalf("creating the forged Task: %v", err)
			}
			t.Cleanup(func() { _ = c.Delete(context.Background(), task) })
			if task.Spec.Resolved.ServiceAccountName != "taskgate" {
				t.Fatalf("a webhook rewrote the Task in %s: %+v", ns, task.Spec.Resolved)
			}
			got := waitForState(t, c, task, v1alpha1.TaskStateFailed, time.Minute)
			want := "Task refused: metadata.namespace: Forbidden: taskgate's webhooks do not admit Tasks in namespace " + ns +
				", so taskgate runs none there; create the Task in an application namespace"
			if cond := succeededCondition(t, got); got.Status.FailureReason != want || cond.Reason != "Refused" || cond.Message != want {
				t.Fatalf("failure %q, condition %s %q; want %q, Refused", got.Status.FailureReason, cond.Reason, cond.Message, want)
			}
			waitForEvent(t, c, ns, task.Name, "Refused", "Task 0 of App web failed: "+want)
			err := c.Get(ctx, client.ObjectKeyFromObject(task), &pipelinev1.PipelineRun{})
			if !apierrors.IsNotFound(err) {
				t.Fatalf("the refused Task's PipelineRun: %v; want none", err)
			}
		})
	}
}

// TestForgedResolvedRunsOnlyAsItsAppResolves: past both webhooks, a Task
// whose spec.resolved is its App's in all but the ServiceAccount is
// refused, as is one its App does not own; one written as taskgate
// writes it runs.
func TestForgedResolvedRunsOnlyAsItsAppResolves(t *testing.T) {
	c := newClient(t)
	ctx := context.Background()
	ns := newNamespace(t, c)
	app := newApp(t, c, ns, "shop")
	// What taskgate resolves, as a server-side dry run returns it.
	var resolved *v1alpha1.ResolvedRun
	eventually(t, 30*time.Second, "the App to reach the webhook's cache", func() (bool, error) {
		probe := &v1alpha1.Task{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "probe"}, Spec: v1alpha1.TaskSpec{AppRef: v1alpha1.AppReference{Name: "shop"}, Command: "date"}}
		err := c.Create(ctx, probe, client.DryRunAll)
		resolved = probe.Spec.Resolved
		return err == nil, err
	})
	owned := []metav1.OwnerReference{{APIVersion: "taskgate.dev/v1alpha1", Kind: "App", Name: "shop", UID: app.UID}}
	task := func(name string, owners []metav1.OwnerReference, sa string) *v1alpha1.Task {
		r := resolved.DeepCopy()
		r.ServiceAccountName = sa
		return &v1alpha1.Task{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, OwnerReferences: owners, Labels: map[string]string{v1alpha1.LabelApp: "shop"}},
			Spec:       v1alpha1.TaskSpec{AppRef: v1alpha1.AppReference{Name: "shop"}, Command: "date", Resolved: r},
		}
	}
	tasks := []*v1alpha1.Task{task("as-resolved", owned, ""), task("other-sa", owned, "taskgate"), task("unowned", nil, "")}
	withoutWebhooks(t, c, &admissionregv1.ValidatingWebhookConfiguration{}, func() {
		withoutWebhooks(t, c, &admissionregv1.MutatingWebhookConfiguration{}, func() {
			for _, task := range tasks {
				if err := c.Create(ctx, task); err != nil {
					t.Fatalf("creating Task %s: %v", task.Name, err)
				}
			}
		})
	})

	waitForState(t, c, tasks[0], v1alpha1.TaskStateSucceeded, 2*time.Minute)
	wants := map[string]string{
		"other-sa": "Task refused: spec.resolved: Forbidden: not what App shop resolves to now in serviceAccountName: " +
			"spec.resolved was not written by taskgate, or the App changed since; create the Task again",
		"unowned": fmt.Sprintf("Task refused: spec.appRef: Forbidden: App shop (uid %s) is not the App this Task was created for; create the Task again to run the App", app.UID),
	}
	for _, task := range tasks[1:] {
		got := waitForState(t, c, task, v1alpha1.TaskStateFailed, time.Minute)
		want := wants[task.Name]
		if cond := succeededCondition(t, got); got.Status.FailureReason != want || cond.Reason != "Refused" {
			t.Errorf("Task %s: failure %q, reason %q; want %q, Refused", task.Name, got.Status.FailureReason, cond.Reason, want)
		}
		waitForEvent(t, c, ns, task.Name, "Refused", fmt.Sprintf("Task %d of App shop failed: %s", got.Status.ID, want))
		if err := c.Get(ctx, client.ObjectKeyFromObject(task), &pipelinev1.PipelineRun{}); !apierrors.IsNotFound(err) {
			t.Errorf("PipelineRun of refused Task %s: %v; want none", task.Name, err)
		}
	}
}
