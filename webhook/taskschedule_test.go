package webhook

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	admissionv1 "k8s.io/api/admission/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/authentication/user"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/taskgate/taskgate/access"
	"github.com/taskgate/taskgate/api/v1alpha1"
	"github.com/taskgate/taskgate/policy"
)

type allowAll struct{}

func (allowAll) Missing(context.Context, user.Info, []access.Need) ([]access.Need, error) {
	return nil, nil
}

func TestTaskScheduleValidator(t *testing.T) {
	app := &v1alpha1.App{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web", UID: "app-uid"},
		Spec: v1alpha1.AppSpec{Image: "shop:1", Args: []string{"serve"}}}
	apps := func(_ context.Context, ns, name string) (*v1alpha1.App, error) {
		if ns == app.Namespace && name == app.Name {
			return app, nil
		}
		return nil, nil
	}
	sched := func(expr, appName string, env ...corev1.EnvVar) *v1alpha1.TaskSchedule {
		ts := &v1alpha1.TaskSchedule{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "nightly"}}
		ts.Spec.AppRef.Name, ts.Spec.Schedule = appName, expr
		ts.Spec.Template.Spec.Command, ts.Spec.Template.Spec.Env = "make report", env
		return ts
	}
	secretEnv := corev1.EnvVar{Name: "PW", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
		LocalObjectReference: corev1.LocalObjectReference{Name: "db"}, Key: "password"}}}
	ctx := admission.NewContextWithRequest(context.Background(), admission.Request{AdmissionRequest: admissionv1.AdmissionRequest{
		UserInfo: authenticationv1.UserInfo{Username: "alice"},
	}})
	cpuRefused := apierrors.NewInvalid(v1alpha1.GroupVersion.WithKind("Task").GroupKind(), "nightly-x", field.ErrorList{
		field.Invalid(field.NewPath("spec", "cpu"), "0", "must be greater than 0, for example 500m or 2"),
		field.Required(field.NewPath("metadata", "name"), ""),
	})
	tests := []struct {
		name   string
		ts     *v1alpha1.TaskSchedule
		access access.Reviewer
		dryRun error
		want   []string // causes, "field: message"
		ran    bool     // whether the dry run was asked
	}{{
		name: "a valid schedule is admitted after a dry run of its Task",
		ts:   sched("0 3 * * *", "web"), access: allowAll{}, ran: true,
	}, {
		name: "a schedule that does not parse, and a missing App",
		ts:   sched("61 * * * *", "gone"), access: allowAll{},
		want: []string{
			`spec.schedule: Invalid value: "61 * * * *": end of range (61) above maximum (59): 61; use five fields (minute hour day-of-month month day-of-week), for example "0 3 * * *" (03:00 every day), "*/15 * * * *" or "@hourly"`,
			`spec.appRef.name: Invalid value: "gone": App gone does not exist in namespace shop; create the App first (a TaskSchedule starts Tasks of an App of its own namespace)`,
		},
	}, {
		name: "the writer needs create on tasks and what the Task's env reads",
		ts:   sched("0 3 * * *", "web", secretEnv), access: &denyAll{},
		want: []string{
			`spec.template: Forbidden: you (user "alice") may not create tasks.taskgate.dev in namespace "shop"; a TaskSchedule creates Tasks for you, with the manager's identity, so writing one needs create on tasks; ask for that permission`,
			`spec.template.spec.env[0].valueFrom.secretKeyRef.name: Forbidden: you (user "alice") may not get secret "db" in namespace "shop"; a Task's env may read only what its App already gives its pods, or what you may get yourself; ask for that permission, or have the App's env or envFrom reference it`,
		},
	}, {
		name: "the API server's refusal of the Task, at the template's fields",
		ts:   sched("0 3 * * *", "web"), access: allowAll{}, dryRun: cpuRefused, ran: true,
		want: []string{
			`spec.template.spec.cpu: Invalid value: "0": must be greater than 0, for example 500m or 2`,
			`spec.template.metadata.name: Required value`,
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ran *v1alpha1.Task
			v := &TaskScheduleValidator{Policy: fixedPolicy{policy.Default()}, Apps: apps, Access: tt.access,
				DryRun: func(_ context.Context, task *v1alpha1.Task) error { ran = task; return tt.dryRun }}
			_, err := v.ValidateCreate(ctx, tt.ts)
			if (ran != nil) != tt.ran {
				t.Errorf("dry run asked: %v, want %v", ran != nil, tt.ran)
			}
			if ran != nil {
				want := metav1.ObjectMeta{GenerateName: "nightly-", Namespace: "shop", Labels: map[string]string{"taskgate.dev/schedule": "nightly"}}
				if diff := cmp.Diff(want, ran.ObjectMeta); diff != "" {
					t.Errorf("dry-run Task's metadata (-want +got):\n%s", diff)
				}
				if ran.Spec.Command != "make report" || ran.Spec.AppRef.Name != "web" {
					t.Errorf("dry-run Task's spec = %+v, want the template's", ran.Spec)
				}
			}
			var got []string
			if err != nil {
				status, ok := err.(apierrors.APIStatus)
				if !ok || !apierrors.IsInvalid(err) {
					t.Fatalf("ValidateCreate() = %v, want an Invalid API status", err)
				}
				if gk := status.Status().Details.Kind; gk != "TaskSchedule" {
					t.Errorf("refused kind = %q, want TaskSchedule", gk)
				}
				for _, c := range status.Status().Details.Causes {
					got = append(got, c.Field+": "+c.Message)
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("causes (-want +got):\n%s", diff)
			}
		})
	}
}

// TestTaskScheduleUpdateReviewsSpecChanges: resuming a schedule is
// reviewed, as it starts Tasks on the writer's behalf; a label or a
// suspend is not.
func TestTaskScheduleUpdateReviewsSpecChanges(t *testing.T) {
	ts := &v1alpha1.TaskSchedule{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "nightly"}}
	ts.Spec.AppRef.Name, ts.Spec.Schedule = "web", "0 3 * * *"
	suspended := ts.DeepCopy()
	suspended.Spec.Suspend = new(bool)
	*suspended.Spec.Suspend = true
	labelled := ts.DeepCopy()
	labelled.Labels = map[string]string{"team": "a"}
	v := &TaskScheduleValidator{Policy: fixedPolicy{policy.Default()}, Apps: func(context.Context, string, string) (*v1alpha1.App, error) {
		return nil, nil
	}}
	if _, err := v.ValidateUpdate(context.Background(), ts, labelled); err != nil {
		t.Errorf("a label change: %v, want admitted unreviewed", err)
	}
	if _, err := v.ValidateUpdate(context.Background(), suspended, ts); !apierrors.IsInvalid(err) {
		t.Errorf("resuming with the App gone: %v, want refused", err)
	}
	if _, err := v.ValidateUpdate(context.Background(), ts, suspended); err != nil {
		t.Errorf("suspending with the App gone: %v, want admitted unreviewed, as it starts nothing", err)
	}
}

func TestTemplateField(t *testing.T) {
	for in, want := range map[string]string{
		"spec.cpu":          "spec.template.spec.cpu",
		"spec.env[2].value": "spec.template.spec.env[2].value",
		"spec.appRef.name":  "spec.appRef.name",
		"metadata.labels":   "spec.template.metadata.labels",
		"spec":              "spec.template.spec",
		"":                  "spec.template",
		"status.id":         "spec.template",
	} {
		if got := templateField(in); got != want {
			t.Errorf("templateField(%q) = %q, want %q", in, got, want)
		}
	}
}
