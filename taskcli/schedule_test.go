package taskcli

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/pflag"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/taskgate/taskgate/api/v1alpha1"
)

// parseScheduleFlags parses args as the command use ("schedule" or
// "create-job") does, into the TaskSchedule it would create.
func parseScheduleFlags(t *testing.T, use string, args []string) (*v1alpha1.TaskSchedule, error) {
	t.Helper()
	f := &scheduleFlags{}
	fl := pflag.NewFlagSet(use, pflag.ContinueOnError)
	bindScheduleFlags(fl, f, use == "create-job")
	if err := fl.Parse(args); err != nil {
		t.Fatalf("parsing %v: %v", args, err)
	}
	f.retriesSet = fl.Changed("retries")
	pos := fl.Args()
	if use == "create-job" {
		return buildJob(pos[0], pos[1], pos[2], f)
	}
	return buildSchedule(pos[0], pos[1], pos[2], f)
}

func TestBuildSchedule(t *testing.T) {
	q := func(s string) *resource.Quantity { v := resource.MustParse(s); return &v }
	typeMeta := metav1.TypeMeta{APIVersion: "taskgate.dev/v1alpha1", Kind: "TaskSchedule"}
	tests := []struct {
		name string
		use  string
		args []string
		want *v1alpha1.TaskSchedule
	}{{
		name: "the App's start command, with nothing else",
		use:  "schedule",
		args: []string{"shop", "nightly", "0 3 * * *"},
		want: &v1alpha1.TaskSchedule{TypeMeta: typeMeta, ObjectMeta: metav1.ObjectMeta{Name: "nightly"},
			Spec: v1alpha1.TaskScheduleSpec{AppRef: v1alpha1.AppReference{Name: "shop"}, Schedule: "0 3 * * *"}},
	}, {
		name: "every flag, with run's names",
		use:  "schedule",
		args: []string{"shop", "nightly", "0 3 * * *", "-c", "bin/report", "--name", "report",
			"--cpu", "500m", "-m", "1G", "-k", "512MB", "--timeout", "30m", "--retries", "2",
			"-e", "A=1", "-e", "B=2", "-e", "A=3", "--annotation", "team=payments", "--label", "tier=batch",
			"--time-zone", "Europe/Berlin", "--concurrency-policy", "Forbid", "--starting-deadline", "5m", "--suspend"},
		want: &v1alpha1.TaskSchedule{TypeMeta: typeMeta, ObjectMeta: metav1.ObjectMeta{Name: "nightly"},
			Spec: v1alpha1.TaskScheduleSpec{
				AppRef: v1alpha1.AppReference{Name: "shop"}, Schedule: "0 3 * * *",
				TimeZone: ptr.To("Europe/Berlin"), ConcurrencyPolicy: v1alpha1.ConcurrencyForbid,
				StartingDeadlineSeconds: ptr.To[int64](300), Suspend: ptr.To(true),
				Template: v1alpha1.TaskTemplate{
					Metadata: v1alpha1.TaskTemplateMetadata{
						Labels: map[string]string{"tier": "batch"}, Annotations: map[string]string{"team": "payments"},
					},
					Spec: v1alpha1.TaskTemplateSpec{
						DisplayName: "report", Command: "bin/report", CPU: q("500m"), Memory: q("1Gi"), Disk: q("512Mi"),
						Env:     []corev1.EnvVar{{Name: "A", Value: "3"}, {Name: "B", Value: "2"}},
						Timeout: &metav1.Duration{Duration: 30 * time.Minute}, Retries: ptr.To[int32](2),
					},
				},
			}},
	}, {
		name: "Kf's resource names, and --retries 0 kept as set",
		use:  "schedule",
		args: []string{"shop", "sync", "*/15 * * * *", "--cpu-cores", "2", "--memory-limit", "2G", "--disk-quota", "4G", "--retries", "0", "--concurrency-policy", "Replace"},
		want: &v1alpha1.TaskSchedule{TypeMeta: typeMeta, ObjectMeta: metav1.ObjectMeta{Name: "sync"},
			Spec: v1alpha1.TaskScheduleSpec{
				AppRef: v1alpha1.AppReference{Name: "shop"}, Schedule: "*/15 * * * *", ConcurrencyPolicy: v1alpha1.ConcurrencyReplace,
				Template: v1alpha1.TaskTemplate{Spec: v1alpha1.TaskTemplateSpec{
					CPU: q("2"), Memory: q("2Gi"), Disk: q("4Gi"), Retries: ptr.To[int32](0),
				}},
			}},
	}, {
		name: "Kf's create-job without a schedule: suspended, once a year",
		use:  "create-job",
		args: []string{"shop", "report", "bin/report", "-m", "1G"},
		want: &v1alpha1.TaskSchedule{TypeMeta: typeMeta, ObjectMeta: metav1.ObjectMeta{Name: "report"},
			Spec: v1alpha1.TaskScheduleSpec{
				AppRef: v1alpha1.AppReference{Name: "shop"}, Schedule: "0 0 1 1 *", Suspend: ptr.To(true),
				Template: v1alpha1.TaskTemplate{Spec: v1alpha1.TaskTemplateSpec{Command: "bin/report", Memory: q("1Gi")}},
			}},
	}, {
		name: "Kf's create-job with --schedule and -c Always",
		use:  "create-job",
		args: []string{"shop", "report", "bin/report", "--schedule", "0 3 * * *", "-c", "Always"},
		want: &v1alpha1.TaskSchedule{TypeMeta: typeMeta, ObjectMeta: metav1.ObjectMeta{Name: "report"},
			Spec: v1alpha1.TaskScheduleSpec{
				AppRef: v1alpha1.AppReference{Name: "shop"}, Schedule: "0 3 * * *", ConcurrencyPolicy: v1alpha1.ConcurrencyAllow,
				Template: v1alpha1.TaskTemplate{Spec: v1alpha1.TaskTemplateSpec{Command: "bin/report"}},
			}},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseScheduleFlags(t, tt.use, tt.args)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("TaskSchedule (-want +got):\n%s", diff)
			}
		})
	}
}

func TestBuildScheduleErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--concurrency-policy", "Sometimes"}, `--concurrency-policy "Sometimes": want Allow (Kf's Always), Forbid or Replace`},
		{[]string{"--starting-deadline", "1500ms"}, `--starting-deadline "1500ms": want a whole number of seconds as a duration, such as 90s or 5m`},
		{[]string{"--starting-deadline", "-1m"}, `--starting-deadline "-1m": want a whole number of seconds as a duration, such as 90s or 5m`},
		{[]string{"--retries", "-1"}, `--retries -1: want 0 or more`},
		{[]string{"--label", "tier"}, `--label "tier": want KEY=VALUE`},
		{[]string{"-m", "lots"}, `--memory: "lots" is not a size: use a Cloud Foundry size such as 512M or 2G, or a Kubernetes quantity such as 512Mi`},
	}
	for _, tt := range tests {
		_, err := parseScheduleFlags(t, "schedule", append([]string{"shop", "nightly", "0 3 * * *"}, tt.args...))
		if err == nil || err.Error() != tt.want {
			t.Errorf("%v: error =\n%v\nwant\n%s", tt.args, err, tt.want)
		}
	}
}

func TestSchedulePatch(t *testing.T) {
	tests := []struct {
		expr    *string
		suspend *bool
		want    string
	}{
		{nil, ptr.To(true), `{"spec":{"suspend":true}}`},
		{nil, ptr.To(false), `{"spec":{"suspend":false}}`},
		{ptr.To("0 3 * * *"), ptr.To(false), `{"spec":{"schedule":"0 3 * * *","suspend":false}}`},
	}
	for _, tt := range tests {
		if got := string(schedulePatch(tt.expr, tt.suspend)); got != tt.want {
			t.Errorf("schedulePatch = %s, want %s", got, tt.want)
		}
	}
}

func TestScheduleNotFoundMessage(t *testing.T) {
	tests := []struct {
		names []string
		want  string
	}{
		{nil, `TaskSchedule nightly not found in namespace shop. Create it with kubectl task schedule APP nightly "CRON" -c COMMAND, or choose the namespace with -n`},
		{[]string{}, `TaskSchedule nightly not found in namespace shop, which has no TaskSchedules. Create it with kubectl task schedule APP nightly "CRON" -c COMMAND, or choose the namespace with -n`},
		{[]string{"hourly", "weekly"}, `TaskSchedule nightly not found in namespace shop; its TaskSchedules are hourly, weekly. Create it with kubectl task schedule APP nightly "CRON" -c COMMAND, or choose the namespace with -n`},
		{[]string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l"}, `TaskSchedule nightly not found in namespace shop; its TaskSchedules include a, b, c, d, e, f, g, h, i, j and 2 more. Create it with kubectl task schedule APP nightly "CRON" -c COMMAND, or choose the namespace with -n`},
	}
	for _, tt := range tests {
		if got := scheduleNotFoundMessage("nightly", "shop", tt.names); got != tt.want {
			t.Errorf("scheduleNotFoundMessage(%v) =\n%s\nwant\n%s", tt.names, got, tt.want)
		}
	}
}

func TestScheduleLine(t *testing.T) {
	now := time.Date(2026, 3, 28, 12, 0, 0, 0, time.UTC)
	sched := func(expr string, tz *string, suspend *bool) *v1alpha1.TaskSchedule {
		return &v1alpha1.TaskSchedule{ObjectMeta: metav1.ObjectMeta{Name: "nightly"}, Spec: v1alpha1.TaskScheduleSpec{
			AppRef: v1alpha1.AppReference{Name: "shop"}, Schedule: expr, TimeZone: tz, Suspend: suspend,
		}}
	}
	tests := []struct {
		ts   *v1alpha1.TaskSchedule
		want string
	}{
		{sched("0 3 * * *", nil, nil), "TaskSchedule nightly of App shop created; its next tick is at 2026-03-29T03:00:00Z"},
		// Berlin changes to summer time on 29 March 2026: 03:00 CEST is 01:00 UTC.
		{sched("0 3 * * *", ptr.To("Europe/Berlin"), ptr.To(false)), "TaskSchedule nightly of App shop created; its next tick is at 2026-03-29T01:00:00Z"},
		{sched("0 3 * * *", nil, ptr.To(true)), `TaskSchedule nightly of App shop created, suspended: it starts no Task until kubectl task schedule-job nightly "CRON" or kubectl task resume nightly; kubectl task run-now nightly starts one now`},
	}
	for _, tt := range tests {
		if got := scheduleLine(tt.ts, "created", now); got != tt.want {
			t.Errorf("scheduleLine =\n%s\nwant\n%s", got, tt.want)
		}
	}
}
