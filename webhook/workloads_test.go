package webhook

import (
	"context"
	"slices"
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/taskgate/taskgate/api/v1alpha1"
	"github.com/taskgate/taskgate/imageinspect"
	"github.com/taskgate/taskgate/workload"
)

// fixedWorkload answers every App with spec.from with w, or ferr.
func fixedWorkload(w *workload.Container, ferr *field.Error) Workloads {
	return func(_ context.Context, app *v1alpha1.App) (*workload.Container, *field.Error, error) {
		if app.Spec.From == nil {
			return nil, nil, nil
		}
		return w, ferr, nil
	}
}

// TestTaskWebhooksFromAWorkload: both Task webhooks resolve an App from a
// Deployment with the container read for the Task; the validator refuses
// a spec.resolved that is not what the workload gives now, and both
// report a workload that cannot be read at spec.appRef.
func TestTaskWebhooksFromAWorkload(t *testing.T) {
	const pinned = "ghcr.io/shop/web:v1@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	app := &v1alpha1.App{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web", UID: "u1"},
		Spec: v1alpha1.AppSpec{From: &v1alpha1.WorkloadRef{Kind: v1alpha1.WorkloadDeployment, Name: "web"}}}
	deployed := &workload.Container{
		Ref:       v1alpha1.WorkloadRef{Kind: v1alpha1.WorkloadDeployment, Name: "web", Container: "app"},
		Pod:       corev1.PodSpec{ServiceAccountName: "web"},
		Container: corev1.Container{Name: "app", Image: "ghcr.io/shop/web:v1", Env: []corev1.EnvVar{{Name: "RAILS_ENV", Value: "production"}}},
		Image:     pinned, Pinned: true,
	}
	pol := fixedPolicy{loadPolicy(t, detectionPolicy)}
	apps := func(context.Context, string, string) (*v1alpha1.App, error) { return app, nil }
	nsLabels := func(context.Context, string) (map[string]string, error) { return nil, nil }
	newTask := func() *v1alpha1.Task {
		task := &v1alpha1.Task{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "migrate"}}
		task.Spec.AppRef.Name, task.Spec.Command = "web", "rake db:migrate"
		return task
	}
	stub := &stubImages{launchers: map[string]string{pinned: imageinspect.CNBLauncher}}
	h := &TaskDefaulter{Policy: pol, Apps: apps, Namespaces: nsLabels, Images: stub, Workloads: fixedWorkload(deployed, nil)}
	task := newTask()
	if _, err := h.Default(context.Background(), task); err != nil {
		t.Fatalf("Default() = %v", err)
	}
	run := task.Spec.Resolved
	if run.Image != pinned || run.ServiceAccountName != "web" || !slices.Equal(run.Command, []string{imageinspect.CNBLauncher, "rake db:migrate"}) {
		t.Fatalf("resolved image %q, serviceAccountName %q, command %q; want the workload's pinned image and identity, through the launcher its labels name",
			run.Image, run.ServiceAccountName, run.Command)
	}
	if !slices.Equal(stub.asked, []string{pinned}) {
		t.Errorf("images read = %q; want the workload's pinned image", stub.asked)
	}

	validator := func(w Workloads) *TaskValidator {
		return &TaskValidator{Policy: pol, Apps: apps, Namespaces: nsLabels, Workloads: w}
	}
	if _, err := validator(fixedWorkload(deployed, nil)).ValidateCreate(context.Background(), task); err != nil {
		t.Fatalf("ValidateCreate(the defaulter's Task) = %v", err)
	}
	rolledOut := deployed.DeepCopy()
	rolledOut.Image = "ghcr.io/shop/web:v2@sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
	_, err := validator(fixedWorkload(rolledOut, nil)).ValidateCreate(context.Background(), task)
	if err == nil || !strings.Contains(err.Error(), "spec.resolved: Forbidden: must be the configuration taskgate resolves from App web; leave it unset (if App web, the workload it is from or the policy just changed, create the Task again)") {
		t.Errorf("ValidateCreate(after a rollout) = %v; want spec.resolved refused", err)
	}

	gone := &field.Error{Type: field.ErrorTypeNotFound, Field: "spec.from.name", BadValue: "web", Detail: "deployment/web does not exist in namespace shop"}
	const wantGone = `Task.taskgate.dev "migrate" is invalid: spec.appRef: Not found: App web (from deployment/web): spec.from.name: Not found: "web": deployment/web does not exist in namespace shop`
	h.Workloads = fixedWorkload(nil, gone)
	if _, err := h.Default(context.Background(), newTask()); err == nil || err.Error() != wantGone {
		t.Errorf("Default(workload gone) = %v\nwant %s", err, wantGone)
	}
	if _, err := validator(fixedWorkload(nil, gone)).ValidateCreate(context.Background(), task); err == nil || err.Error() != wantGone {
		t.Errorf("ValidateCreate(workload gone) = %v\nwant %s", err, wantGone)
	}
	h.Workloads = nil
	if _, err := h.Default(context.Background(), newTask()); err == nil || !strings.Contains(err.Error(), "spec.appRef: Internal error: App web (from deployment/web): spec.from: Internal error: deployment/web was not read") {
		t.Errorf("Default(no workload reader) = %v; want the Task refused", err)
	}
}

// TestAppValidatorFromAWorkload: an App may name a workload that does not
// exist yet, with a warning, but not a container it lacks nor one whose
// volumes a Task may not take; it needs no image of its own.
func TestAppValidatorFromAWorkload(t *testing.T) {
	app := &v1alpha1.App{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web"},
		Spec: v1alpha1.AppSpec{From: &v1alpha1.WorkloadRef{Kind: v1alpha1.WorkloadDeployment, Name: "web"}}}
	withClaim := &workload.Container{
		Ref: v1alpha1.WorkloadRef{Kind: v1alpha1.WorkloadDeployment, Name: "web", Container: "app"},
		Pod: corev1.PodSpec{Volumes: []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{
			PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "data"}}}}},
		Container: corev1.Container{Name: "app", Image: "ghcr.io/shop/web:v1", VolumeMounts: []corev1.VolumeMount{{Name: "data", MountPath: "/data"}}},
		Image:     "ghcr.io/shop/web:v1",
	}
	plain := withClaim.DeepCopy()
	plain.Container.VolumeMounts = nil
	for _, tt := range []struct {
		name     string
		w        Workloads
		wantErr  string
		warnings []string
	}{
		{name: "a workload to run", w: fixedWorkload(plain, nil)},
		{name: "not read: Tasks check it", w: nil},
		{name: "no such workload yet", w: fixedWorkload(nil, &field.Error{Type: field.ErrorTypeNotFound, Field: "spec.from.name", BadValue: "web", Detail: "x"}),
			warnings: []string{"deployment/web does not exist yet: Tasks of this App are refused until it does"}},
		{name: "no such container", w: fixedWorkload(nil, &field.Error{Type: field.ErrorTypeNotFound, Field: "spec.from.container", BadValue: "nope", Detail: "deployment/web has no such container"}),
			wantErr: `App.taskgate.dev "web" is invalid: spec.from.container: Not found: "nope": deployment/web has no such container`},
		{name: "a claim", w: fixedWorkload(withClaim, nil),
			wantErr: `App.taskgate.dev "web" is invalid: spec.from: Forbidden: deployment/web's container app mounts volume data, claim data: a Task would share it with the running app`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			v := &AppValidator{Policy: fixedPolicy{loadPolicy(t, "apiVersion: taskgate.dev/v1alpha1\nkind: Policy\n")}, Workloads: tt.w}
			warnings, err := v.ValidateCreate(context.Background(), app)
			if got := errString(err); (tt.wantErr == "") != (got == "") || !strings.HasPrefix(got, tt.wantErr) {
				t.Errorf("ValidateCreate() error = %s\nwant one starting %s", got, tt.wantErr)
			}
			if !slices.Equal([]string(warnings), tt.warnings) {
				t.Errorf("warnings = %q, want %q", warnings, tt.warnings)
			}
		})
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// TestAppValidatorReadsNoWorkloadForAForbiddenSender: a sender who may not
// get the workload learns nothing of it from the answer, neither whether
// it exists nor its containers; the workload is not even read.
func TestAppValidatorReadsNoWorkloadForAForbiddenSender(t *testing.T) {
	ctx := admission.NewContextWithRequest(context.Background(), admission.Request{AdmissionRequest: admissionv1.AdmissionRequest{
		UserInfo: authenticationv1.UserInfo{Username: "mallory"},
	}})
	app := &v1alpha1.App{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web"},
		Spec: v1alpha1.AppSpec{From: &v1alpha1.WorkloadRef{Kind: v1alpha1.WorkloadDeployment, Name: "web", Container: "nope"}}}
	read := 0
	v := &AppValidator{
		Policy: fixedPolicy{loadPolicy(t, "apiVersion: taskgate.dev/v1alpha1\nkind: Policy\n")},
		Access: &denyAll{},
		Workloads: func(context.Context, *v1alpha1.App) (*workload.Container, *field.Error, error) {
			read++
			return nil, &field.Error{Type: field.ErrorTypeNotFound, Field: "spec.from.container", BadValue: "nope", Detail: "deployment/web has no such container; set spec.from.container to one of app, secret-sidecar"}, nil
		},
	}
	_, err := v.ValidateCreate(ctx, app)
	got := errString(err)
	if !strings.Contains(got, `spec.from: Forbidden: you (user "mallory") may not get deployment "web" in namespace "shop"; an App from a workload runs a copy of its container, so it needs get on the workload; ask for that permission or name a workload you can read`) || strings.Contains(got, "sidecar") || read != 0 {
		t.Fatalf("ValidateCreate() = %s (workload read %d times); want only the missing permission, nothing read", got, read)
	}
}
