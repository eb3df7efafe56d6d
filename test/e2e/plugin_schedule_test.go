package e2e

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/taskgate/taskgate/api/v1alpha1"
	"github.com/taskgate/taskgate/test/localcluster"
)

// yearly ticks on 1 January only, so that no test's schedule ticks while
// it runs.
const yearly = "0 0 1 1 *"

// nextNewYear is the next tick of yearly in loc, in UTC as the plugin
// prints it.
func nextNewYear(loc *time.Location) string {
	return time.Date(time.Now().In(loc).Year()+1, 1, 1, 0, 0, 0, 0, loc).UTC().Format(time.RFC3339)
}

// getSchedule reads a TaskSchedule.
func getSchedule(t *testing.T, c client.Client, ns, name string) *v1alpha1.TaskSchedule {
	t.Helper()
	ts := &v1alpha1.TaskSchedule{}
	if err := c.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, ts); err != nil {
		t.Fatalf("reading TaskSchedule %s: %v", name, err)
	}
	return ts
}

// taskReader may read Apps, Tasks and TaskSchedules: what the plugin's
// commands read before they write.
var taskReader = []rbacv1.PolicyRule{{
	APIGroups: []string{v1alpha1.GroupVersion.Group}, Resources: []string{"apps", "tasks", "taskschedules"},
	Verbs: []string{"get", "list", "watch"},
}}

// TestPluginSchedule drives TaskSchedules through the built plugin: each
// command's exact output and the objects it leaves.
func TestPluginSchedule(t *testing.T) {
	t.Run("schedule, create-job and schedules", testPluginScheduleCreateAndList)
	t.Run("run-now and the schedule's history", testPluginRunNow)
	t.Run("suspend, resume and delete-schedule", testPluginSuspendResumeDelete)
}

// testPluginScheduleCreateAndList: schedule's flags make the template as
// run's make a Task; Kf's create-job makes a suspended schedule that
// schedule-job schedules; schedules prints the CRD's table; a bad cron
// expression is refused with the webhook's words.
func testPluginScheduleCreateAndList(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	ns := newNamespace(t, c)
	newApp(t, c, ns, "shop")
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}

	res := mustKubectlTask(t, ns, "schedule", "shop", "nightly", yearly, "-c", "bin/report", "--name", "report",
		"-e", "REPORT=daily", "-m", "1G", "--cpu-cores", "500m", "--timeout", "30m", "--retries", "2", "--label", "team=reports",
		"--time-zone", "Europe/Berlin", "--concurrency-policy", "Forbid", "--starting-deadline", "5m")
	if want := "TaskSchedule nightly of App shop created; its next tick is at " + nextNewYear(berlin) + "\n"; res.stdout != want {
		t.Fatalf("schedule: want stdout %q; got %s", want, res)
	}
	q := func(s string) *resource.Quantity { v := resource.MustParse(s); return &v }
	want := v1alpha1.TaskScheduleSpec{
		AppRef: v1alpha1.AppReference{Name: "shop"}, Schedule: yearly, TimeZone: ptr.To("Europe/Berlin"),
		ConcurrencyPolicy: v1alpha1.ConcurrencyForbid, StartingDeadlineSeconds: ptr.To[int64](300),
		Template: v1alpha1.TaskTemplate{
			Metadata: v1alpha1.TaskTemplateMetadata{Labels: map[string]string{"team": "reports"}},
			Spec: v1alpha1.TaskTemplateSpec{
				DisplayName: "report", Command: "bin/report", CPU: q("500m"), Memory: q("1Gi"),
				Env:     []corev1.EnvVar{{Name: "REPORT", Value: "daily"}},
				Timeout: &metav1.Duration{Duration: 30 * time.Minute}, Retries: ptr.To[int32](2),
			},
		},
	}
	if diff := cmp.Diff(want, getSchedule(t, c, ns, "nightly").Spec); diff != "" {
		t.Fatalf("schedule's TaskSchedule spec (-want +got):\n%s", diff)
	}

	// Kf's two steps: create-job without a schedule is suspended, once a
	// year; schedule-job gives it its schedule and resumes it.
	res = mustKubectlTask(t, ns, "create-job", "shop", "export", "bin/export", "--memory-limit", "512M", "-c", "Always")
	if want := `TaskSchedule export of App shop created, suspended: it starts no Task until kubectl task schedule-job export "CRON" or kubectl task resume export; kubectl task run-now export starts one now` + "\n"; res.stdout != want {
		t.Fatalf("create-job: want stdout %q; got %s", want, res)
	}
	want = v1alpha1.TaskScheduleSpec{
		AppRef: v1alpha1.AppReference{Name: "shop"}, Schedule: yearly, Suspend: ptr.To(true), ConcurrencyPolicy: v1alpha1.ConcurrencyAllow,
		Template: v1alpha1.TaskTemplate{Spec: v1alpha1.TaskTemplateSpec{Command: "bin/export", Memory: q("512Mi")}},
	}
	if diff := cmp.Diff(want, getSchedule(t, c, ns, "export").Spec); diff != "" {
		t.Fatalf("create-job's TaskSchedule spec (-want +got):\n%s", diff)
	}
	res = mustKubectlTask(t, ns, "schedule-job", "export", "0 0 1 1 *")
	if want := "TaskSchedule export of App shop scheduled; its next tick is at " + nextNewYear(time.UTC) + "\n"; res.stdout != want {
		t.Fatalf("schedule-job: want stdout %q; got %s", want, res)
	}
	if got := getSchedule(t, c, ns, "export").Spec.Suspend; got == nil || *got {
		t.Fatalf("after schedule-job, spec.suspend = %v, want false", got)
	}
	// -o prints the object on standard output, the line on standard error.
	res = mustKubectlTask(t, ns, "create-job", "shop", "adhoc", "bin/adhoc", "-o", "name")
	if res.stdout != "taskschedule.taskgate.dev/adhoc\n" || !strings.HasPrefix(res.stderr, "TaskSchedule adhoc of App shop created, suspended: ") {
		t.Fatalf("create-job -o name: %s", res)
	}

	// schedules: the CRD's columns, once the reconciler wrote the next
	// ticks, by App and name.
	eventually(t, 30*time.Second, "the reconciler to write the next ticks", func() (bool, error) {
		n, e := getSchedule(t, c, ns, "nightly"), getSchedule(t, c, ns, "export")
		return n.Status.NextScheduleTime != nil && e.Status.NextScheduleTime != nil, fmt.Errorf("status %+v, %+v", n.Status, e.Status)
	})
	header, rows := parseTable(t, mustKubectlTask(t, ns, "schedules").stdout)
	if got := strings.Join(header, ","); got != "NAME,APP,SCHEDULE,TIME ZONE,SUSPEND,ACTIVE,LAST SCHEDULE,NEXT,LAST STATE,AGE" {
		t.Fatalf("schedules header: %s", got)
	}
	// The server leaves a cell without a value empty.
	wantRows := cells([]map[string]string{
		{"NAME": "adhoc", "APP": "shop", "SCHEDULE": yearly, "SUSPEND": "true"},
		{"NAME": "export", "APP": "shop", "SCHEDULE": yearly, "SUSPEND": "false", "NEXT": nextNewYear(time.UTC)},
		{"NAME": "nightly", "APP": "shop", "SCHEDULE": yearly, "TIME ZONE": "Europe/Berlin", "NEXT": nextNewYear(berlin)},
	}, "NAME", "APP", "SCHEDULE", "TIME ZONE", "SUSPEND", "ACTIVE", "LAST SCHEDULE", "NEXT", "LAST STATE")
	if got := cells(rows, "NAME", "APP", "SCHEDULE", "TIME ZONE", "SUSPEND", "ACTIVE", "LAST SCHEDULE", "NEXT", "LAST STATE"); got != wantRows {
		t.Fatalf("schedules rows:\n got %s\nwant %s", got, wantRows)
	}
	// Kf's names, and kubectl get's print flags.
	if res := mustKubectlTask(t, ns, "job-schedules", "-o", "name"); res.stdout != "taskschedule.taskgate.dev/adhoc\ntaskschedule.taskgate.dev/export\ntaskschedule.taskgate.dev/nightly\n" {
		t.Fatalf("job-schedules -o name: %s", res)
	}
	if res := mustKubectlTask(t, ns, "jobs", "--no-headers", "--sort-by", ".metadata.name", "-o", "custom-columns=NAME:.metadata.name,TZ:.spec.timeZone"); res.stdout != "adhoc     <none>\nexport    <none>\nnightly   Europe/Berlin\n" {
		t.Fatalf("jobs -o custom-columns: %s", res)
	}
	header, rows = parseTable(t, mustKubectlTask(t, ns, "schedules", "-A").stdout)
	var here []string
	for _, r := range rows {
		if r["NAMESPACE"] == ns {
			here = append(here, r["NAME"])
		}
	}
	if header[0] != "NAMESPACE" || strings.Join(here, ",") != "adhoc,export,nightly" {
		t.Fatalf("schedules -A: header %v, this namespace's rows %v", header, here)
	}
	if res := mustKubectlTask(t, newNamespace(t, c), "schedules"); res.stdout != "" || !strings.HasPrefix(res.stderr, "No TaskSchedules found in namespace ") {
		t.Fatalf("schedules in an empty namespace: %s", res)
	}

	// Completion of schedule names, with each one's App and schedule.
	if res := mustKubectlTask(t, ns, "__complete", "run-now", "n"); res.stdout != "nightly\tshop 0 0 1 1 *\n:4\n" {
		t.Fatalf("completing a schedule: %s", res)
	}
	if res := mustKubectlTask(t, ns, "__complete", "list", "--schedule", ""); res.stdout != "adhoc\tshop 0 0 1 1 *\nexport\tshop 0 0 1 1 *\nnightly\tshop 0 0 1 1 *\n:4\n" {
		t.Fatalf("completing list --schedule: %s", res)
	}

	// A bad cron expression: the webhook's message, as it is.
	wantFailure(t, kubectlTask(t, ns, "schedule", "shop", "bad", "61 * * * *", "-c", "bin/report"),
		`spec.schedule: Invalid value: "61 * * * *": end of range (61) above maximum (59): 61; use five fields (minute hour day-of-month month day-of-week), for example "0 3 * * *" (03:00 every day), "*/15 * * * *" or "@hourly"`)
	if err := c.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "bad"}, &v1alpha1.TaskSchedule{}); !apierrors.IsNotFound(err) {
		t.Fatalf("a refused schedule exists: %v", err)
	}
	// A missing App: the plugin says so before asking, as run does.
	wantFailure(t, kubectlTask(t, ns, "schedule", "gone", "nightly2", yearly),
		"error: App gone not found in namespace "+ns+"; its Apps are shop. Create it with kubectl apply -f app.yaml, or choose the namespace with -n")
}

// testPluginRunNow: run-now starts the template's Task at once, as the
// user who runs it: with the App's next ID, the schedule's label and
// owner, under a name no tick has; a user who may not create Tasks is
// refused. list --schedule and job-history list that schedule's Tasks only.
func testPluginRunNow(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	ns := newNamespace(t, c)
	newApp(t, c, ns, "shop")
	grant(t, c, ns, "viewer", "reader", taskReader...)
	grant(t, c, ns, "dev", "runner", append(taskReader, rbacv1.PolicyRule{
		APIGroups: []string{v1alpha1.GroupVersion.Group}, Resources: []string{"tasks"}, Verbs: []string{"create"},
	})...)

	// A Task by hand first, ID 1: the schedule's gets the next, 2.
	byHand, _ := created(t, mustKubectlTask(t, ns, "run", "shop", "-c", "true").stdout)
	mustKubectlTask(t, ns, "schedule", "shop", "nightly", yearly, "-c", "bin/report", "--label", "team=reports")
	ts := getSchedule(t, c, ns, "nightly")

	res := kubectlTask(t, ns, "--as", "viewer", "run-now", "nightly")
	wantFailure(t, res, `tasks.taskgate.dev is forbidden: User "viewer" cannot create resource "tasks" in API group "taskgate.dev" in the namespace "`+ns+`"`)

	res = mustKubectlTask(t, ns, "--as", "dev", "run-now", "nightly")
	m := regexp.MustCompile(`^Task (nightly-manual-[a-z0-9]{5}) \(ID 2\) of App shop created\n$`).FindStringSubmatch(res.stdout)
	if m == nil {
		t.Fatalf("run-now: %s", res)
	}
	task := getTask(t, c, ns, m[1])
	if task.Status.ID != 2 {
		t.Errorf("run-now's Task has ID %d, want 2", task.Status.ID)
	}
	// The ID is in status only: a label would be a write of its own.
	if want := map[string]string{"team": "reports", v1alpha1.LabelSchedule: "nightly", v1alpha1.LabelApp: "shop"}; !cmp.Equal(want, task.Labels) {
		t.Errorf("run-now's Task labels = %v, want %v", task.Labels, want)
	}
	if task.Spec.Command != "bin/report" {
		t.Errorf("run-now's Task command = %q, want the template's", task.Spec.Command)
	}
	var controller *metav1.OwnerReference
	for i, o := range task.OwnerReferences {
		if ptr.Deref(o.Controller, false) {
			controller = &task.OwnerReferences[i]
		}
	}
	if controller == nil || controller.Kind != "TaskSchedule" || controller.UID != ts.UID || ptr.Deref(controller.BlockOwnerDeletion, true) {
		t.Errorf("run-now's Task controller = %+v, want TaskSchedule %s, not blocking its deletion", controller, ts.UID)
	}
	// Created by the plugin itself, not by taskgate's manager: the
	// creator's entry is the one with generateName.
	var creator []string
	for _, f := range task.ManagedFields {
		if f.FieldsV1 != nil && strings.Contains(string(f.FieldsV1.GetRawBytes()), `"f:generateName"`) {
			creator = append(creator, f.Manager+" "+string(f.Operation))
		}
	}
	if strings.Join(creator, ",") != "kubectl-task Update" {
		t.Errorf("run-now's Task was created by %v, want [kubectl-task Update]; managedFields %+v", creator, task.ManagedFields)
	}

	// The history: that schedule's Tasks only, not the one by hand.
	for _, args := range [][]string{{"list", "--schedule", "nightly"}, {"job-history", "nightly"}} {
		header, rows := parseTable(t, mustKubectlTask(t, ns, args...).stdout)
		if got := cells(rows, "NAME", "ID", "APP"); header[0] != "NAME" || got != m[1]+" 2 shop" {
			t.Fatalf("%s: header %v, rows %s; want only %s", strings.Join(args, " "), header, got, m[1])
		}
	}
	if res := mustKubectlTask(t, ns, "list", "shop", "-o", "name"); res.stdout != "task.taskgate.dev/"+byHand+"\ntask.taskgate.dev/"+m[1]+"\n" {
		t.Fatalf("list shop: %s", res)
	}
	// schedules shows how the last run, this one, ended.
	waitForState(t, c, task, v1alpha1.TaskStateSucceeded, time.Minute)
	eventually(t, 30*time.Second, "the schedule's last finished Task in its status", func() (bool, error) {
		s := getSchedule(t, c, ns, "nightly").Status
		return s.LastFinished != nil && s.LastFinished.Name == m[1] && len(s.Active) == 0, fmt.Errorf("status %+v", s)
	})
	if _, rows := parseTable(t, mustKubectlTask(t, ns, "schedules").stdout); cells(rows, "NAME", "ACTIVE", "LAST SCHEDULE", "LAST STATE") != "nightly   Succeeded" {
		t.Fatalf("schedules after run-now: %s", cells(rows, "NAME", "ACTIVE", "LAST SCHEDULE", "LAST STATE"))
	}

	// A missing schedule: said, with the namespace's schedules.
	notFound := "error: TaskSchedule gone not found in namespace " + ns + "; its TaskSchedules are nightly. Create it with kubectl task schedule APP gone \"CRON\" -c COMMAND, or choose the namespace with -n"
	wantFailure(t, kubectlTask(t, ns, "run-now", "gone"), notFound)
	wantFailure(t, kubectlTask(t, ns, "list", "--schedule", "gone"), notFound)
	mustKubectlTask(t, ns, "schedule", "shop", "idle", yearly, "-c", "bin/idle")
	if res := mustKubectlTask(t, ns, "job-history", "idle"); res.stdout != "" || res.stderr != "TaskSchedule idle has no Tasks in namespace "+ns+"; start one now with kubectl task run-now idle\n" {
		t.Fatalf("job-history of a schedule without Tasks: %s", res)
	}
	// run's --wait: the outcome, after the created line.
	res = mustKubectlTask(t, ns, "run-job", "idle", "--wait")
	if !regexp.MustCompile(`^Task (idle-manual-[a-z0-9]{5}) \(ID 3\) of App shop created\nTask idle-manual-[a-z0-9]{5} \(ID 3\) succeeded in \d+s\n$`).MatchString(res.stdout) {
		t.Fatalf("run-job --wait: %s", res)
	}
}

// testPluginSuspendResumeDelete: suspend and resume change spec.suspend
// alone; resume is checked as its user; delete-schedule leaves a running
// Task, which list --schedule still shows.
func testPluginSuspendResumeDelete(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := newClient(t)
	ns := newNamespace(t, c)
	newApp(t, c, ns, "shop")
	mustKubectlTask(t, ns, "schedule", "shop", "nightly", yearly, "-c", "bin/report",
		"--annotation", localcluster.AnnotationRunTime+"=10m", "--concurrency-policy", "Replace")
	before := getSchedule(t, c, ns, "nightly")

	res := mustKubectlTask(t, ns, "suspend", "nightly")
	if want := "TaskSchedule nightly of App shop suspended: it starts no Task until kubectl task resume nightly; Tasks already running go on\n"; res.stdout != want {
		t.Fatalf("suspend: want %q; got %s", want, res)
	}
	after := getSchedule(t, c, ns, "nightly")
	wantSpec := before.Spec.DeepCopy()
	wantSpec.Suspend = ptr.To(true)
	if diff := cmp.Diff(*wantSpec, after.Spec); diff != "" || after.Generation != before.Generation+1 || !cmp.Equal(before.Labels, after.Labels) || !cmp.Equal(before.Annotations, after.Annotations) {
		t.Fatalf("suspend changed more than spec.suspend (-want +got):\n%s\ngeneration %d -> %d", diff, before.Generation, after.Generation)
	}

	// Resuming is a change of spec, checked as its writer: one who may
	// patch schedules but not create Tasks is refused.
	grant(t, c, ns, "patcher", "patcher", rbacv1.PolicyRule{
		APIGroups: []string{v1alpha1.GroupVersion.Group}, Resources: []string{"taskschedules"}, Verbs: []string{"patch", "get", "list"},
	})
	wantFailure(t, kubectlTask(t, ns, "--as", "patcher", "resume", "nightly"),
		`spec.template: Forbidden: you (user "patcher") may not create tasks.taskgate.dev in namespace "`+ns+`"`)
	if got := getSchedule(t, c, ns, "nightly").Spec.Suspend; !ptr.Deref(got, false) {
		t.Fatalf("a refused resume resumed the schedule")
	}
	res = mustKubectlTask(t, ns, "resume-job", "nightly")
	if want := "TaskSchedule nightly of App shop resumed; its next tick is at " + nextNewYear(time.UTC) + "\n"; res.stdout != want {
		t.Fatalf("resume: want %q; got %s", want, res)
	}
	after = getSchedule(t, c, ns, "nightly")
	wantSpec.Suspend = ptr.To(false)
	if diff := cmp.Diff(*wantSpec, after.Spec); diff != "" {
		t.Fatalf("resume changed more than spec.suspend (-want +got):\n%s", diff)
	}
	// Suspending starts nothing, so it asks only for the patch.
	mustKubectlTask(t, ns, "--as", "patcher", "suspend", "nightly")
	if got := getSchedule(t, c, ns, "nightly").Spec.Suspend; !ptr.Deref(got, false) {
		t.Fatalf("after the patcher's suspend, spec.suspend = %v, want true", got)
	}
	mustKubectlTask(t, ns, "resume", "nightly")
	wantFailure(t, kubectlTask(t, ns, "suspend", "gone"), "error: TaskSchedule gone not found in namespace "+ns+"; its TaskSchedules are nightly.")

	// A running Task of the schedule survives its deletion.
	name, _ := created(t, mustKubectlTask(t, ns, "run-now", "nightly").stdout)
	running := waitForState(t, c, getTask(t, c, ns, name), v1alpha1.TaskStateRunning, time.Minute)
	eventually(t, 30*time.Second, "the running Task in the schedule's status", func() (bool, error) {
		s := getSchedule(t, c, ns, "nightly").Status
		return len(s.Active) == 1 && s.Active[0].Name == name, fmt.Errorf("status %+v", s)
	})
	if _, rows := parseTable(t, mustKubectlTask(t, ns, "schedules").stdout); cells(rows, "NAME", "ACTIVE", "LAST STATE") != "nightly "+name+" " {
		t.Fatalf("schedules with a running Task: %s", cells(rows, "NAME", "ACTIVE", "LAST STATE"))
	}
	res = mustKubectlTask(t, ns, "delete-job", "nightly")
	if want := "TaskSchedule nightly deleted; the Tasks it started stay (kubectl task list --schedule nightly)\n"; res.stdout != want {
		t.Fatalf("delete-schedule: want %q; got %s", want, res)
	}
	eventually(t, 60*time.Second, "the schedule to be gone and its Task released", func() (bool, error) {
		err := c.Get(ctx, client.ObjectKeyFromObject(after), &v1alpha1.TaskSchedule{})
		task := getTask(t, c, ns, name)
		return apierrors.IsNotFound(err) && len(task.OwnerReferences) == 1, fmt.Errorf("schedule: %v; Task owners %+v", err, task.OwnerReferences)
	})
	task := getTask(t, c, ns, name)
	if task.DeletionTimestamp != nil || task.Status.State != v1alpha1.TaskStateRunning || task.OwnerReferences[0].Kind != "App" || task.UID != running.UID {
		t.Fatalf("after delete-schedule the Task is %s, deleting %v, owners %+v; want it running, owned by its App", task.Status.State, task.DeletionTimestamp, task.OwnerReferences)
	}
	if res := mustKubectlTask(t, ns, "list", "--schedule", "nightly", "-o", "name"); res.stdout != "task.taskgate.dev/"+name+"\n" {
		t.Fatalf("list --schedule of a deleted schedule: %s", res)
	}
	wantFailure(t, kubectlTask(t, ns, "delete-schedule", "nightly"), "error: TaskSchedule nightly not found in namespace "+ns+", which has no TaskSchedules.")
}
