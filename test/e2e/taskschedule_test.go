package e2e

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/taskgate/taskgate/api/v1alpha1"
	"github.com/taskgate/taskgate/reconciler"
	"github.com/taskgate/taskgate/schedule"
	"github.com/taskgate/taskgate/test/localcluster"
)

// newSchedule builds a TaskSchedule of app, changed by mutate.
func newSchedule(app *v1alpha1.App, name, expr string, mutate ...func(*v1alpha1.TaskSchedule)) *v1alpha1.TaskSchedule {
	ts := &v1alpha1.TaskSchedule{
		ObjectMeta: metav1.ObjectMeta{Namespace: app.Namespace, Name: name},
		Spec: v1alpha1.TaskScheduleSpec{
			AppRef: v1alpha1.AppReference{Name: app.Name}, Schedule: expr,
			Template: v1alpha1.TaskTemplate{Spec: v1alpha1.TaskTemplateSpec{Command: "bundle exec rake report"}},
		},
	}
	for _, m := range mutate {
		m(ts)
	}
	return ts
}

// scheduledTasks lists the Tasks labelled with the schedule's name.
func scheduledTasks(t *testing.T, c client.Client, ns, name string) []v1alpha1.Task {
	t.Helper()
	var tasks v1alpha1.TaskList
	if err := c.List(context.Background(), &tasks, client.InNamespace(ns), client.MatchingLabels{v1alpha1.LabelSchedule: name}); err != nil {
		t.Fatalf("listing the Tasks of schedule %s: %v", name, err)
	}
	return tasks.Items
}

// waitForScheduledTask waits for the schedule's first Task.
func waitForScheduledTask(t *testing.T, c client.Client, ts *v1alpha1.TaskSchedule, timeout time.Duration) v1alpha1.Task {
	t.Helper()
	var tasks []v1alpha1.Task
	eventually(t, timeout, "a Task of schedule "+ts.Name, func() (bool, error) {
		tasks = scheduledTasks(t, c, ts.Namespace, ts.Name)
		return len(tasks) > 0, fmt.Errorf("%d Tasks", len(tasks))
	})
	if len(tasks) != 1 {
		t.Fatalf("schedule %s started %d Tasks at its first tick, want 1: %v", ts.Name, len(tasks), tasks)
	}
	return tasks[0]
}

// scheduleEvents lists the Events of reason about the schedule.
func scheduleEvents(t *testing.T, c client.Client, ts *v1alpha1.TaskSchedule, reason string) []eventsv1.Event {
	t.Helper()
	var events eventsv1.EventList
	if err := c.List(context.Background(), &events, client.InNamespace(ts.Namespace)); err != nil {
		t.Fatalf("listing Events: %v", err)
	}
	var out []eventsv1.Event
	for _, e := range events.Items {
		if e.Regarding.Kind == "TaskSchedule" && e.Regarding.Name == ts.Name && e.Reason == reason {
			out = append(out, e)
		}
	}
	return out
}

// TestTaskSchedule runs the scenarios that wait on real minute ticks side
// by side, so the whole takes about two minutes.
func TestTaskSchedule(t *testing.T) {
	t.Run("every minute, Forbid, then deleted", testScheduleForbidThenDelete)
	t.Run("suspended", testScheduleSuspended)
	t.Run("Replace", testScheduleReplace)
	t.Run("under the cap", testScheduleUnderTheCap)
	t.Run("admission", testScheduleAdmission)
}

// testScheduleForbidThenDelete: `* * * * *` starts a Task within 70 s
// with its App's next ID, named by its tick and owned by the schedule and
// the App; while it runs, Forbid skips the next tick with an Event; and
// deleting the schedule leaves the running Task, released by the garbage
// collector from its deleted owner.
func testScheduleForbidThenDelete(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := newClient(t)
	ns := newNamespace(t, c)
	app := newApp(t, c, ns, "shop")
	// One Task by hand first: the scheduled one must get the next ID, 2.
	waitForState(t, c, newTask(t, c, app, "by-hand", nil), v1alpha1.TaskStateSucceeded, time.Minute)
	ts := newSchedule(app, "nightly", "* * * * *", func(ts *v1alpha1.TaskSchedule) {
		ts.Spec.ConcurrencyPolicy = v1alpha1.ConcurrencyForbid
		ts.Spec.Template.Metadata.Annotations = map[string]string{localcluster.AnnotationRunTime: "10m"}
		ts.Spec.Template.Metadata.Labels = map[string]string{"team": "reports"}
	})
	if err := c.Create(ctx, ts); err != nil {
		t.Fatalf("creating TaskSchedule: %v", err)
	}
	created := time.Now()
	first := waitForScheduledTask(t, c, ts, 70*time.Second)
	t.Logf("the first Task came %s after the schedule", time.Since(created).Round(time.Second))
	running := waitForState(t, c, &first, v1alpha1.TaskStateRunning, time.Minute)
	if running.Status.ID != 2 {
		t.Errorf("the scheduled Task's ID = %d, want 2, its App's next", running.Status.ID)
	}
	tick := running.CreationTimestamp.Truncate(time.Minute)
	if want := schedule.TaskName(ts.Name, tick); running.Name != want {
		t.Errorf("the scheduled Task is named %s, want %s for the tick at %s", running.Name, want, tick)
	}
	if running.Labels["team"] != "reports" || running.Labels[v1alpha1.LabelSchedule] != ts.Name || running.Labels[v1alpha1.LabelApp] != app.Name {
		t.Errorf("the scheduled Task's labels are %v, want the template's, the schedule's and the App's", running.Labels)
	}
	owners := map[string]metav1.OwnerReference{}
	for _, o := range running.OwnerReferences {
		owners[o.Kind] = o
	}
	if o := owners["TaskSchedule"]; o.UID != ts.UID || !ptr.Deref(o.Controller, false) || ptr.Deref(o.BlockOwnerDeletion, true) {
		t.Errorf("owner TaskSchedule = %+v, want the schedule as controller, not blocking its deletion", o)
	}
	if o := owners["App"]; o.UID != app.UID {
		t.Errorf("owner App = %+v, want App %s", o, app.Name)
	}

	// The next tick finds the Task running: skipped, said in an Event.
	eventually(t, 75*time.Second, "a Skipped Event", func() (bool, error) {
		return len(scheduleEvents(t, c, ts, "Skipped")) > 0, nil
	})
	skipped := scheduleEvents(t, c, ts, "Skipped")[0]
	wantNote := fmt.Sprintf("concurrencyPolicy is Forbid and Task %s has not finished", running.Name)
	if !strings.HasSuffix(skipped.Note, wantNote) {
		t.Errorf("Skipped Event says %q, want it to end %q", skipped.Note, wantNote)
	}
	if tasks := scheduledTasks(t, c, ns, ts.Name); len(tasks) != 1 {
		t.Errorf("after a skipped tick the schedule has %d Tasks, want 1", len(tasks))
	}
	got := &v1alpha1.TaskSchedule{}
	if err := c.Get(ctx, client.ObjectKeyFromObject(ts), got); err != nil {
		t.Fatal(err)
	}
	if len(got.Status.Active) != 1 || got.Status.Active[0].Name != running.Name || got.Status.Active[0].ID != 2 ||
		got.Status.LastScheduleTime == nil || !got.Status.LastScheduleTime.Time.Equal(tick) || got.Status.NextScheduleTime == nil {
		t.Errorf("status = %+v, want Task %s (ID 2) active, last tick %s and a next", got.Status, running.Name, tick)
	}

	// Deleting the schedule, as kubectl does (background), deletes no Task.
	if err := c.Delete(ctx, got); err != nil {
		t.Fatalf("deleting TaskSchedule: %v", err)
	}
	task := &v1alpha1.Task{}
	eventually(t, 60*time.Second, "the garbage collector to release the Task from its deleted schedule", func() (bool, error) {
		if err := c.Get(ctx, client.ObjectKeyFromObject(running), task); err != nil {
			return false, err
		}
		released := !slices.ContainsFunc(task.OwnerReferences, func(o metav1.OwnerReference) bool { return o.UID == ts.UID })
		return released, fmt.Errorf("owners %+v", task.OwnerReferences)
	})
	if task.DeletionTimestamp != nil || task.Status.State != v1alpha1.TaskStateRunning || !reconciler.OwnedBy(task, app.UID) {
		t.Errorf("after the schedule's deletion the Task is %s, deleting %v, owners %+v; want it running, owned by its App",
			task.Status.State, task.DeletionTimestamp, task.OwnerReferences)
	}
}

// testScheduleSuspended: a suspended schedule starts nothing past a tick
// and says why.
func testScheduleSuspended(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := newClient(t)
	ns := newNamespace(t, c)
	app := newApp(t, c, ns, "shop")
	ts := newSchedule(app, "paused", "* * * * *", func(ts *v1alpha1.TaskSchedule) { ts.Spec.Suspend = ptr.To(true) })
	if err := c.Create(ctx, ts); err != nil {
		t.Fatalf("creating TaskSchedule: %v", err)
	}
	// Past the next tick, with time for a Task to appear.
	next := ts.CreationTimestamp.Truncate(time.Minute).Add(time.Minute)
	time.Sleep(time.Until(next) + 10*time.Second)
	if tasks := scheduledTasks(t, c, ns, ts.Name); len(tasks) != 0 {
		t.Errorf("a suspended schedule started %d Tasks", len(tasks))
	}
	got := &v1alpha1.TaskSchedule{}
	if err := c.Get(ctx, client.ObjectKeyFromObject(ts), got); err != nil {
		t.Fatal(err)
	}
	ready := meta.FindStatusCondition(got.Status.Conditions, v1alpha1.ConditionReady)
	if ready == nil || ready.Status != metav1.ConditionFalse || ready.Reason != "Suspended" || got.Status.NextScheduleTime != nil {
		t.Errorf("status = %+v, want Ready False Suspended and no next tick", got.Status)
	}
	out := mustKubectl(t, "", "get", "ts", "-n", ns)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	// Empty columns print as nothing: the row is the name, App,
	// schedule, suspend and age (no time zone, run or last state).
	if len(lines) != 2 || strings.Join(strings.Fields(lines[0]), " ") != "NAME APP SCHEDULE TIME ZONE SUSPEND ACTIVE LAST SCHEDULE NEXT LAST STATE AGE" ||
		len(strings.Fields(lines[1])) != 9 || !strings.HasPrefix(strings.Join(strings.Fields(lines[1]), " "), "paused shop * * * * * true ") {
		t.Errorf("kubectl get ts:\n%s\nwant the printer columns and a suspended schedule with no run", out)
	}

	// A run now, as kubectl task run-now makes it, runs while suspended
	// and counts as the schedule's.
	now := schedule.RunNowTask(got)
	if err := c.Create(ctx, now); err != nil {
		t.Fatalf("creating a run now: %v", err)
	}
	eventually(t, 30*time.Second, "the run now among the schedule's active Tasks", func() (bool, error) {
		if err := c.Get(ctx, client.ObjectKeyFromObject(ts), got); err != nil {
			return false, err
		}
		return slices.ContainsFunc(got.Status.Active, func(r v1alpha1.TaskReference) bool { return r.Name == now.Name }) ||
			(got.Status.LastFinished != nil && got.Status.LastFinished.Name == now.Name), fmt.Errorf("status %+v", got.Status)
	})
	if !strings.HasPrefix(now.Name, "paused-manual-") || now.Labels[v1alpha1.LabelSchedule] != "paused" {
		t.Errorf("the run now is %s labelled %v, want paused-manual-xxxxx labelled with its schedule", now.Name, now.Labels)
	}
}

// testScheduleReplace: Replace cancels the running Task at the next tick,
// with an Event, and starts the tick's.
func testScheduleReplace(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := newClient(t)
	ns := newNamespace(t, c)
	app := newApp(t, c, ns, "shop")
	ts := newSchedule(app, "latest", "* * * * *", func(ts *v1alpha1.TaskSchedule) {
		ts.Spec.ConcurrencyPolicy = v1alpha1.ConcurrencyReplace
		ts.Spec.Template.Metadata.Annotations = map[string]string{localcluster.AnnotationRunTime: "10m"}
	})
	if err := c.Create(ctx, ts); err != nil {
		t.Fatalf("creating TaskSchedule: %v", err)
	}
	first := waitForScheduledTask(t, c, ts, 70*time.Second)
	waitForState(t, c, &first, v1alpha1.TaskStateRunning, time.Minute)
	cancelled := waitForState(t, c, &first, v1alpha1.TaskStateCancelled, 90*time.Second)
	if cancelled.Spec.DesiredState != v1alpha1.DesiredStateCancelled {
		t.Errorf("the replaced Task's desiredState = %q, want Cancelled", cancelled.Spec.DesiredState)
	}
	var second v1alpha1.Task
	eventually(t, 30*time.Second, "the next tick's Task", func() (bool, error) {
		for _, task := range scheduledTasks(t, c, ns, ts.Name) {
			if task.Name != first.Name {
				second = task
				return true, nil
			}
		}
		return false, nil
	})
	if want := schedule.TaskName(ts.Name, first.CreationTimestamp.Truncate(time.Minute).Add(time.Minute)); second.Name != want {
		t.Errorf("the replacing Task is %s, want %s, the next tick's", second.Name, want)
	}
	replaced := scheduleEvents(t, c, ts, "Replaced")
	if len(replaced) != 1 || replaced[0].Note != fmt.Sprintf("Cancelled Task %s: concurrencyPolicy is Replace and a new tick is due", first.Name) {
		t.Errorf("Replaced Events = %+v, want one naming %s", replaced, first.Name)
	}
}

// testScheduleUnderTheCap: the cap deletes a scheduled Task, the oldest
// finished, exactly as any, and the schedule's status keeps the last
// finished.
func testScheduleUnderTheCap(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := newClient(t)
	ns := newNamespace(t, c)
	app := newApp(t, c, ns, "shop")
	ts := newSchedule(app, "hourly", "* * * * *")
	if err := c.Create(ctx, ts); err != nil {
		t.Fatalf("creating TaskSchedule: %v", err)
	}
	first := waitForScheduledTask(t, c, ts, 70*time.Second)
	// No second tick: the rest of the App's Tasks are by hand.
	patch := client.MergeFrom(ts.DeepCopy())
	ts.Spec.Suspend = ptr.To(true)
	if err := c.Patch(ctx, ts, patch); err != nil {
		t.Fatalf("suspending: %v", err)
	}
	done := waitForState(t, c, &first, v1alpha1.TaskStateSucceeded, time.Minute)
	eventually(t, 30*time.Second, "the schedule's status to show its finished Task", func() (bool, error) {
		got := &v1alpha1.TaskSchedule{}
		if err := c.Get(ctx, client.ObjectKeyFromObject(ts), got); err != nil {
			return false, err
		}
		lf := got.Status.LastFinished
		return lf != nil && lf.Name == done.Name && lf.ID == 1 && lf.State == v1alpha1.TaskStateSucceeded && len(got.Status.Active) == 0,
			fmt.Errorf("status %+v", got.Status)
	})

	mustKubectl(t, policyConfigMap(fmt.Sprintf("apiVersion: taskgate.dev/v1alpha1\nkind: Policy\ntasks:\n  cap:\n    overrides: [{name: e2e-schedule-cap, namespaces: [%s], maxTasks: 2}]", ns)), "apply", "-f", "-")
	t.Cleanup(func() { resetPolicy(t, c) })
	time.Sleep(2 * time.Second) // the policy reloads within a second
	for _, name := range []string{"later-1", "later-2"} {
		waitForState(t, c, newTask(t, c, app, name, nil), v1alpha1.TaskStateSucceeded, time.Minute)
	}
	eventually(t, 60*time.Second, "the cap to delete the scheduled Task, the oldest", func() (bool, error) {
		err := c.Get(ctx, client.ObjectKeyFromObject(done), &v1alpha1.Task{})
		return apierrors.IsNotFound(err), err
	})
	var tasks v1alpha1.TaskList
	if err := c.List(ctx, &tasks, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, task := range tasks.Items {
		names = append(names, task.Name)
	}
	if want := []string{"later-1", "later-2"}; !slices.Equal(names, want) {
		t.Errorf("after the cap the App's Tasks are %v, want %v", names, want)
	}
}

// testScheduleAdmission: the schedule and time zone must parse; the
// template is refused with the very messages a Task gets, at the
// template's fields; and the writer, here impersonated, must be allowed
// create on tasks and what the Task's env reads, as the manager creates
// the Task with its own identity.
func testScheduleAdmission(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	admin := newClient(t)
	ns := newNamespace(t, admin)
	app := newApp(t, admin, ns, "shop")
	createSecret(t, admin, ns, "payroll", map[string]string{"token": "not-for-alice"})

	err := admin.Create(ctx, newSchedule(app, "bad", "61 * * * *", func(ts *v1alpha1.TaskSchedule) { ts.Spec.TimeZone = ptr.To("Mars/Olympus") }))
	requireAccessDenied(t, err,
		`spec.timeZone: Invalid value: "Mars/Olympus": unknown time zone: unknown time zone Mars/Olympus; for example "Europe/Berlin" or "America/New_York"`)
	err = admin.Create(ctx, newSchedule(app, "bad", "61 * * * *", func(ts *v1alpha1.TaskSchedule) { ts.Spec.TimeZone = ptr.To("Europe/Berlin") }))
	requireAccessDenied(t, err,
		`spec.schedule: Invalid value: "61 * * * *": end of range (61) above maximum (59): 61; use five fields (minute hour day-of-month month day-of-week), for example "0 3 * * *" (03:00 every day), "*/15 * * * *" or "@hourly"`)

	// Templates a Task would be refused for, by taskgate's webhook (a
	// negative timeout) and by the CRD's schema and CEL rules, which only
	// the API server runs (retries over 10, a CPU of 0): the same causes,
	// at the template's fields.
	zero := resource.MustParse("0")
	for name, spec := range map[string]v1alpha1.TaskTemplateSpec{
		"webhook": {Command: "true", Timeout: &metav1.Duration{Duration: -time.Second}},
		"schema":  {Command: "true", CPU: &zero, Retries: ptr.To[int32](11)},
	} {
		taskErr := admin.Create(ctx, &v1alpha1.Task{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
			Spec: v1alpha1.TaskSpec{AppRef: v1alpha1.AppReference{Name: app.Name}, Command: spec.Command,
				CPU: spec.CPU, Timeout: spec.Timeout, Retries: spec.Retries},
		})
		var want []string
		for _, cause := range accessCauses(t, taskErr) {
			want = append(want, "spec.template."+cause)
		}
		err = admin.Create(ctx, newSchedule(app, name, "0 3 * * *", func(ts *v1alpha1.TaskSchedule) { ts.Spec.Template.Spec = spec }))
		requireAccessDenied(t, err, want...)
		t.Logf("a Task's refusal by the %s, at the template: %q", name, want)
	}

	// alice may write schedules and read Apps, but not create Tasks.
	grant(t, admin, ns, "alice", "write-schedules",
		rbacv1.PolicyRule{APIGroups: []string{v1alpha1.GroupVersion.Group}, Resources: []string{"taskschedules"}, Verbs: []string{"create", "get"}},
		rbacv1.PolicyRule{APIGroups: []string{v1alpha1.GroupVersion.Group}, Resources: []string{"apps"}, Verbs: []string{"get"}})
	alice := actingAs(t, "alice")
	peek := func() *v1alpha1.TaskSchedule {
		return newSchedule(app, "peek", "0 3 * * *", func(ts *v1alpha1.TaskSchedule) {
			ts.Spec.Template.Spec.Env = []corev1.EnvVar{secretEnv("TOKEN", "payroll", "token")}
		})
	}
	mayNotCreate := fmt.Sprintf(`spec.template: Forbidden: you (user "alice") may not create tasks.taskgate.dev in namespace %q; `+
		`a TaskSchedule creates Tasks for you, with the manager's identity, so writing one needs create on tasks; ask for that permission`, ns)
	readPayroll := "spec.template.spec.env[0].valueFrom.secretKeyRef.name: " + forbiddenTaskEnv("alice", ns, "payroll")
	requireAccessDenied(t, alice.Create(ctx, peek()), mayNotCreate, readPayroll)

	grant(t, admin, ns, "alice", "create-tasks",
		rbacv1.PolicyRule{APIGroups: []string{v1alpha1.GroupVersion.Group}, Resources: []string{"tasks"}, Verbs: []string{"create"}})
	// The webhook may hold alice's denial for a few seconds.
	eventually(t, 30*time.Second, "alice to be refused only the Secret", func() (bool, error) {
		causes := accessCauses(t, alice.Create(ctx, peek()))
		return slices.Equal(causes, []string{readPayroll}), fmt.Errorf("causes %q", causes)
	})
	grant(t, admin, ns, "alice", "read-payroll",
		rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"secrets"}, ResourceNames: []string{"payroll"}, Verbs: []string{"get"}})
	eventually(t, 30*time.Second, "alice's schedule to be admitted", func() (bool, error) {
		err := alice.Create(ctx, peek())
		return err == nil, err
	})
}
