package webhook

import (
	"context"
	"sync/atomic"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/authentication/user"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/taskgate/taskgate/access"
	"github.com/taskgate/taskgate/api/v1alpha1"
	"github.com/taskgate/taskgate/schedule"
)

// countingAllow allows every need and counts the reviews of create on
// tasks.
type countingAllow struct{ createTasks atomic.Int64 }

func (c *countingAllow) Missing(_ context.Context, _ user.Info, needs []access.Need) ([]access.Need, error) {
	for _, n := range needs {
		if n.Resource == access.ResourceTasks && n.Verb == access.VerbCreate {
			c.createTasks.Add(1)
		}
	}
	return nil, nil
}

// FuzzTaskScheduleValidator: any review is answered with an allowance or
// a 4xx with a message; an admitted schedule parses, names the one App
// that exists, and was admitted only after its writer's review for create
// on tasks and a dry run of its Task.
func FuzzTaskScheduleValidator(f *testing.F) {
	pol, apps, _ := fuzzDeps(f)
	reviewer := &countingAllow{}
	var dryRuns atomic.Int64
	v := &TaskScheduleValidator{Policy: pol, Apps: apps, Namespaces: restrictedNamespace, Access: reviewer,
		DryRun: func(context.Context, *v1alpha1.Task) error { dryRuns.Add(1); return nil }}
	seeds := []string{
		`{"apiVersion":"taskgate.dev/v1alpha1","kind":"TaskSchedule","metadata":{"name":"nightly","namespace":"shop"},"spec":{"appRef":{"name":"web"},"schedule":"0 3 * * *","template":{"spec":{"command":"make report"}}}}`,
		`{"apiVersion":"taskgate.dev/v1alpha1","kind":"TaskSchedule","metadata":{"name":"n"},"spec":{"appRef":{"name":"web"},"schedule":"@every 1m","timeZone":"Europe/Berlin","suspend":true,"concurrencyPolicy":"Replace","template":{"metadata":{"labels":{"a":"b"}},"spec":{"env":[{"name":"A","valueFrom":{"secretKeyRef":{"name":"s","key":"k"}}}],"cpu":"1","timeout":"1m"}}}}`,
		`{"spec":{"appRef":{"name":"web"},"schedule":"CRON_TZ=UTC * * * *"}}`, `{"spec":{"schedule":"61 * * * *"}}`,
		`{"spec":{"appRef":{"name":"web"},"schedule":"* * * * *","timeZone":"Local"}}`, `{}`, `null`, `{`,
	}
	h := admission.WithValidator(fuzzScheme(f), v)
	// The properties below are reached: the first seed is admitted.
	if resp := h.Handle(context.Background(), createReview("TaskSchedule", []byte(seeds[0]))); !resp.Allowed {
		f.Fatalf("the first seed is refused: %+v", resp.Result)
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		for _, old := range seeds[:2] {
			req := createReview("TaskSchedule", raw)
			req.Operation = admissionv1.Update
			req.OldObject = runtime.RawExtension{Raw: []byte(old)}
			checkAnswer(t, h.Handle(context.Background(), req))
		}
		// The counts of the create alone.
		reviewer.createTasks.Store(0)
		dryRuns.Store(0)
		resp := h.Handle(context.Background(), createReview("TaskSchedule", raw))
		checkAnswer(t, resp)
		if !resp.Allowed {
			return
		}
		ts := &v1alpha1.TaskSchedule{}
		if err := decodeAsAdmitted(raw, ts); err != nil {
			t.Fatalf("admitted a TaskSchedule that does not decode: %v", err)
		}
		if errs := schedule.Validate(&ts.Spec, field.NewPath("spec")); len(errs) > 0 || ts.Spec.AppRef.Name != "web" {
			t.Fatalf("admitted schedule %q of App %q: %v", ts.Spec.Schedule, ts.Spec.AppRef.Name, errs)
		}
		if reviewer.createTasks.Load() != 1 || dryRuns.Load() != 1 {
			t.Fatalf("admitted with %d reviews of create on tasks and %d dry runs, want 1 of each", reviewer.createTasks.Load(), dryRuns.Load())
		}
	})
}
