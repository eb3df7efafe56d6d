package webhook

import (
	"context"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/taskgate/taskgate/access"
	"github.com/taskgate/taskgate/api/v1alpha1"
	"github.com/taskgate/taskgate/facts"
	"github.com/taskgate/taskgate/inherit"
	"github.com/taskgate/taskgate/schedule"
)

// TaskDryRun asks the API server to admit a Task without storing it: its
// schema, CEL rules and webhooks, as for any Task.
type TaskDryRun func(ctx context.Context, task *v1alpha1.Task) error

// TaskScheduleValidator checks TaskSchedules on create, and on updates of
// their spec: the schedule and time zone parse, the App exists, and the
// Task a tick would start is admitted exactly as a Task: resolved from
// its App under the policy, then by the API server in a dry run. The
// writer must be allowed what creating that Task would need of them, and
// create on tasks: the manager creates it with its own identity.
type TaskScheduleValidator struct {
	Policy facts.PolicySource
	Apps   AppGetter
	// Access reviews what the sender may do; nil skips the review.
	Access access.Reviewer
	// Namespaces gives namespace labels; nil applies the policy alone.
	Namespaces facts.NamespaceLabels
	// DryRun admits the Task of a tick on the API server; nil skips it.
	DryRun TaskDryRun
	// Workloads reads the container an App's spec.from names; nil reads
	// none, and schedules of such Apps are refused.
	Workloads Workloads
}

var _ admission.Validator[*v1alpha1.TaskSchedule] = &TaskScheduleValidator{}

// ValidateCreate checks a new schedule.
func (v *TaskScheduleValidator) ValidateCreate(ctx context.Context, ts *v1alpha1.TaskSchedule) (admission.Warnings, error) {
	return v.validate(ctx, ts)
}

// ValidateUpdate checks a changed spec again, by whoever changes it: a
// resumed schedule or a new template starts Tasks on its writer's behalf.
// Labels and annotations alone start nothing.
func (v *TaskScheduleValidator) ValidateUpdate(ctx context.Context, old, ts *v1alpha1.TaskSchedule) (admission.Warnings, error) {
	if equality.Semantic.DeepEqual(old.Spec, ts.Spec) || schedule.OnlySuspends(&old.Spec, &ts.Spec) {
		return nil, nil
	}
	return v.validate(ctx, ts)
}

// ValidateDelete allows every delete.
func (v *TaskScheduleValidator) ValidateDelete(context.Context, *v1alpha1.TaskSchedule) (admission.Warnings, error) {
	return nil, nil
}

var templatePath = specPath.Child("template")

func (v *TaskScheduleValidator) validate(ctx context.Context, ts *v1alpha1.TaskSchedule) (admission.Warnings, error) {
	errs := schedule.Validate(&ts.Spec, specPath)
	app, err := v.Apps(ctx, ts.Namespace, ts.Spec.AppRef.Name)
	if err != nil {
		return nil, err
	}
	if app == nil {
		errs = append(errs, field.Invalid(appRefName, ts.Spec.AppRef.Name, fmt.Sprintf(
			"App %s does not exist in namespace %s; create the App first (a TaskSchedule starts Tasks of an App of its own namespace)",
			ts.Spec.AppRef.Name, ts.Namespace)))
	}
	if len(errs) > 0 {
		return nil, invalidSchedule(ts, errs)
	}
	task := schedule.NewTask(ts, "")
	nsLabels, err := v.Namespaces.Get(ctx, ts.Namespace)
	if err != nil {
		return nil, err
	}
	// What both Task webhooks resolve and check, in-process.
	p := v.Policy.Current()
	w, werr, err := v.Workloads.read(ctx, app)
	if err != nil {
		return nil, err
	}
	if werr != nil {
		return nil, invalidSchedule(ts, inherit.AppRefErrors(app, field.ErrorList{werr}))
	}
	res := inherit.ResolveTaskFrom(app, w, task, p, inherit.Namespace{Labels: nsLabels})
	res.CheckSecurityGroups(app, nsLabels, p)
	if len(res.Errors) > 0 {
		return nil, invalidSchedule(ts, inTemplate(res.Errors))
	}
	forbidden, err := senderLacks(ctx, v.Access, access.TaskScheduleNeeds(ts, task, app))
	if err != nil {
		return nil, err
	}
	if len(forbidden) > 0 {
		return nil, invalidSchedule(ts, forbidden)
	}
	if v.DryRun == nil {
		return nil, nil
	}
	// The Task's schema and CEL rules, which only the API server runs. A
	// generated name, as no tick's Task may exist yet; no owner, as a new
	// schedule has no UID.
	task.GenerateName, task.OwnerReferences = ts.Name+"-", nil
	if err := v.DryRun(ctx, task); err != nil {
		if errs := taskRefusal(err); errs != nil {
			return nil, invalidSchedule(ts, errs)
		}
		return nil, fmt.Errorf("admitting the Task of a tick in a dry run: %w", err)
	}
	return nil, nil
}

// inTemplate moves a Task's field errors to where the template holds the
// field: spec.X to spec.template.spec.X, metadata.X to
// spec.template.metadata.X. spec.appRef is the schedule's own.
func inTemplate(errs field.ErrorList) field.ErrorList {
	out := make(field.ErrorList, 0, len(errs))
	for _, e := range errs {
		moved := *e
		moved.Field = templateField(e.Field)
		out = append(out, &moved)
	}
	return out
}

func templateField(f string) string {
	switch {
	case f == "spec.appRef" || strings.HasPrefix(f, "spec.appRef."):
		return f
	case f == "spec" || strings.HasPrefix(f, "spec.") || strings.HasPrefix(f, "spec["):
		return templatePath.String() + "." + f
	case strings.HasPrefix(f, "metadata."):
		return templatePath.String() + "." + f
	}
	return templatePath.String()
}

// taskRefusal turns the API server's refusal of the dry-run Task into the
// schedule's field errors, keeping each message; nil when err is not a
// refusal (an outage, a timeout).
func taskRefusal(err error) field.ErrorList {
	status, ok := err.(apierrors.APIStatus)
	if !ok || (!apierrors.IsInvalid(err) && !apierrors.IsForbidden(err) && !apierrors.IsBadRequest(err)) {
		return nil
	}
	s := status.Status()
	if s.Details == nil || len(s.Details.Causes) == 0 {
		return field.ErrorList{field.Forbidden(templatePath, "a Task of this template would be refused: "+s.Message)}
	}
	var errs field.ErrorList
	for _, c := range s.Details.Causes {
		t := field.ErrorType(c.Type)
		// The cause's message is the error's body: its type, then the
		// value and detail, which omitting the value prints again as is.
		detail, found := strings.CutPrefix(c.Message, t.String())
		if found {
			detail = strings.TrimPrefix(detail, ": ")
		} else {
			t, detail = field.ErrorTypeInvalid, c.Message
		}
		errs = append(errs, &field.Error{Type: t, Field: templateField(c.Field), BadValue: field.OmitValueType{}, Detail: detail})
	}
	return errs
}

func invalidSchedule(ts *v1alpha1.TaskSchedule, errs field.ErrorList) error {
	return apierrors.NewInvalid(v1alpha1.GroupVersion.WithKind("TaskSchedule").GroupKind(), ts.Name, errs)
}
